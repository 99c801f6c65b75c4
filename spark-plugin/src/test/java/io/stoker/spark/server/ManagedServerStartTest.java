package io.stoker.spark.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Starting one managed server process for real (a bash script that becomes Python's http.server on loopback): a
 * server that finds its port taken is started again on another port, and a start that fails leaves no process behind
 * and restarts nothing.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ManagedServerStartTest {
    private static ServerSpec spec(Path script, long startTimeoutMs) {
        return new ServerSpec("t", "bash " + script + " {port}", "m", 0, "/", startTimeoutMs, 3, Map.of());
    }

    @Test
    void shouldRetryOnAnotherPortWhenTheFirstWasTakenBeforeTheServerBoundIt(@TempDir Path dir) throws Exception {
        Path ports = dir.resolve("ports");
        Path script = dir.resolve("server.sh");
        // The first launch behaves like a server whose port was taken; later ones serve.
        Files.writeString(script, String.join("\n",
                "echo $1 >> " + ports,
                "if [ $(wc -l < " + ports + ") -eq 1 ]; then",
                "  echo 'OSError: [Errno 98] Address already in use' >&2; exit 1",
                "fi",
                "exec /usr/bin/python3 -m http.server $1 --bind 127.0.0.1 --directory " + dir), StandardCharsets.UTF_8);
        try (ManagedServer s = ManagedServer.start(spec(script, 30_000), 0, List.of(), dir.resolve("logs"))) {
            List<String> tried = Files.readAllLines(ports);
            assertThat(tried).as("two launches, the second on a fresh port").hasSize(2);
            assertThat(s.baseUrl()).isEqualTo("http://127.0.0.1:" + tried.get(1) + "/v1");
            assertThat(s.restarts()).as("a lost port is not a restart").isZero();
            assertThat(s.isUsable()).isTrue();
        }
    }

    @Test
    void shouldLeaveNoProcessBehindWhenAStartTimesOut(@TempDir Path dir) throws Exception {
        Path pid = dir.resolve("pid");
        Path script = dir.resolve("server.sh");
        Files.writeString(script, "echo $$ > " + pid + "\nexec sleep 600\n", StandardCharsets.UTF_8);
        assertThatThrownBy(() -> ManagedServer.start(spec(script, 1_500), 0, List.of(), dir.resolve("logs")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("did not answer")
                .hasMessageContaining("within 1500 ms");
        long serverPid = Long.parseLong(Files.readString(pid).trim());
        ProcessHandle h = ProcessHandle.of(serverPid).orElse(null);
        if (h != null) {
            h.onExit().get(20, TimeUnit.SECONDS);
        }
        assertThat(ProcessHandle.of(serverPid).map(ProcessHandle::isAlive).orElse(false))
                .as("the timed-out server process was stopped").isFalse();
        Thread.sleep(600); // longer than the first restart's back-off: no restart may launch it again
        assertThat(Files.readString(pid).trim()).as("not launched again").isEqualTo(Long.toString(serverPid));
    }
}
