package io.stoker.spark.batch;

import io.stoker.spark.cli.LocalSparkHome;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reading, formatting, part writing and merging stream: a child JVM with a 40 MiB heap turns a 110 MB request file
 * (with a 30 MB line over the line limit in it) into a 60+ MB output file. Spark itself is left out (its own memory
 * needs are not Stoker's); docs/performance.md has the whole command on a 1 GB file.
 */
@Timeout(300)
class BoundedMemoryTest {
    @Test
    void shouldStreamAFileMuchLargerThanTheHeap() throws Exception {
        Path dir = Files.createDirectories(Path.of("target", "bounded-memory").toAbsolutePath());
        Path in = dir.resolve("big.jsonl");
        Path out = dir.resolve("big-results.jsonl");
        Files.deleteIfExists(out);
        String pad = "x".repeat(900);
        int lines = 110_000;
        try (BufferedWriter w = Files.newBufferedWriter(in, StandardCharsets.UTF_8)) {
            for (int i = 0; i < lines; i++) {
                if (i == 5_000) {
                    w.write("{\"custom_id\": \"huge\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\","
                            + " \"body\": {\"messages\": [{\"role\": \"user\", \"content\": \"");
                    for (int k = 0; k < 30_000; k++) {
                        w.write(pad);
                    }
                    w.write("\"}]}}\n");
                    continue;
                }
                w.write(Requests.chat("r" + i, i + pad, "\"max_tokens\": 3"));
                w.write('\n');
            }
        }
        assertThat(Files.size(in)).isGreaterThan(130_000_000L);
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String o : LocalSparkHome.jvmOptions()) {
            if (!o.startsWith("-Xmx") && !o.startsWith("-XX:MaxRAM")) {
                cmd.add(o);
            }
        }
        cmd.addAll(List.of("-Xmx40m", "-cp", System.getProperty("java.class.path"),
                BoundedMemoryProbe.class.getName(), in.toString(), out.toString(), "1048576", "33554432"));
        Process p = new ProcessBuilder(cmd).redirectError(dir.resolve("probe.log").toFile()).start();
        String result = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor(240, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("the probe under -Xmx40m; log: " + dir.resolve("probe.log")).isZero();
        String[] f = result.substring(result.lastIndexOf('\n') + 1).split(" "); // the last line: logs may come first
        assertThat(Long.parseLong(f[0])).as("rows").isEqualTo(lines);
        assertThat(Long.parseLong(f[1])).as("the line over the limit is the one error").isEqualTo(1);
        assertThat(Long.parseLong(f[2])).as("output lines").isEqualTo(lines);
        assertThat(Long.parseLong(f[3])).as("peak heap").isLessThan(40L << 20);
        assertThat(Files.size(out)).isGreaterThan(60_000_000L);
        try (var r = Files.newBufferedReader(out)) {
            assertThat(r.readLine()).contains("\"custom_id\":\"r0\"");
        }
        Files.delete(in);
        Files.delete(out);
    }
}
