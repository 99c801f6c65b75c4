package io.stoker.runtime.comm;

import io.stoker.runtime.cuda.CudaTestSupport;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An {@link NcclCommunicator} whose two ranks are two JVMs (each one GPU actor on its own simulated device), built
 * with {@link NcclCommunicator#spanning}: the simulator's NCCL moves the data between the processes through shared
 * memory. Every collective and a send/recv pair must give each process the values computed here; calls that do not
 * match fail both processes with both calls named; a rank that joined but never calls fails its peer after the
 * simulator's timeout instead of hanging it. The id goes from rank 0 to rank 1 through files ({@link FileNcclIds});
 * between executors it goes through the driver (integration-tests' NcclClusterTest).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NcclProcessesTest {
    @TempDir
    Path dir;

    @BeforeEach
    void simulatorOnly() {
        CudaTestSupport.assumeSimulator();
    }

    private Process start(int rank, String mode, String... simOptions) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-XX:TieredStopAtLevel=1");
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-opens") || a.startsWith("--add-modules") || a.startsWith("-XX:+Ignore")) {
                cmd.add(a);
            }
        }
        for (String p : new String[] {"stoker.cuda", "stoker.cuda.sim.library", "stoker.cuda.sim.kernels"}) {
            if (System.getProperty(p) != null) {
                cmd.add("-D" + p + "=" + System.getProperty(p));
            }
        }
        for (String o : simOptions) {
            cmd.add("-Dstoker.cuda.sim.option." + o);
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(NcclPeerMain.class.getName());
        cmd.add(dir.toString());
        cmd.add(Integer.toString(rank));
        cmd.add(mode);
        return new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("rank" + rank + ".log").toFile()).start();
    }

    private String log(int rank) throws IOException {
        Path p = dir.resolve("rank" + rank + ".log");
        return Files.exists(p) ? Files.readString(p) : "";
    }

    /** Starts rank 1, waits until it is up (so both join within the simulator's timeout), then rank 0. */
    private Process[] pair(String mode, String... simOptions) throws Exception {
        Process one = start(1, mode, simOptions);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!log(1).contains("STARTED")) {
            assertThat(one.isAlive()).as("rank 1 died: %s", log(1)).isTrue();
            assertThat(System.nanoTime()).as("rank 1 starts within 60 s").isLessThan(deadline);
            Thread.sleep(20);
        }
        return new Process[] {start(0, mode, simOptions), one};
    }

    private String finish(Process p, int rank) throws Exception {
        try {
            assertThat(p.waitFor(90, TimeUnit.SECONDS)).as("rank %d exits; log: %s", rank, log(rank)).isTrue();
            assertThat(p.exitValue()).as("rank %d log: %s", rank, log(rank)).isZero();
            return log(rank);
        } finally {
            p.destroyForcibly();
        }
    }

    /** The rendezvous files of groups whose id rank 0 ({@code pid}) made: none may be left behind. */
    private static List<Path> leftovers(long pid) throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/dev/shm"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("stoker-cudasim-nccl-" + pid + "-")).toList();
        }
    }

    @Test
    void shouldRunEveryCollectiveAndSendRecvBetweenTwoJvms() throws Exception {
        Process[] p = pair("ops");
        String[] logs = {finish(p[0], 0), finish(p[1], 1)};
        for (int r = 0; r < 2; r++) {
            assertThat(logs[r]).as("rank %d", r).contains("JOINED rank " + r + " of 2")
                    .contains("allreduce 3.0,30.0,200.0,-1.0\n")
                    .contains("max 2.0,0.0\n")
                    .contains("allgather 1.0,10.0,2.0,20.0\n")
                    .contains(r == 0 ? "reducescatter 3.0,5.0\n" : "reducescatter 7.0,9.0\n")
                    .contains(r == 0 ? "recv 1007.0,1008.0,1009.0\n" : "recv 7.0,8.0,9.0\n")
                    .contains("inplace 1.0,1.0\n")
                    .contains("DONE").doesNotContain("FAILED");
        }
        assertThat(leftovers(p[0].pid())).as("shared memory left on /dev/shm").isEmpty();
    }

    @Test
    void shouldFailBothJvmsNamingBothCallsWhenTheirCollectivesDiffer() throws Exception {
        Process[] p = pair("mismatch");
        String[] logs = {finish(p[0], 0), finish(p[1], 1)};
        for (int r = 0; r < 2; r++) {
            assertThat(logs[r]).as("rank %d", r).contains("FAILED").contains("NCCL collective #0 differs between ranks")
                    .contains("rank 0 called allReduce(count=3, type=7, op=0, root=0)")
                    .contains("rank 1 called allGather(count=3, type=7, op=0, root=0)")
                    .doesNotContain("allreduce-or-allgather ");
        }
        assertThat(leftovers(p[0].pid())).isEmpty();
    }

    @Test
    void shouldFailBothJvmsWhenOneSendsWhileTheOtherReduces() throws Exception {
        Process[] p = pair("crossed");
        String[] logs = {finish(p[0], 0), finish(p[1], 1)};
        for (int r = 0; r < 2; r++) {
            assertThat(logs[r]).as("rank %d", r).contains("FAILED").contains("NCCL calls do not match between ranks")
                    .contains("send(count=3, type=7, peer=1)")
                    .contains("allReduce(count=3, type=7, op=0, root=0)")
                    .doesNotContain("SENT").doesNotContain("allreduce ");
        }
    }

    @Test
    void shouldTimeOutWithAMessageWhenTheOtherJvmNeverCalls() throws Exception {
        Process[] p = pair("absent", "barrier_timeout_ms=1000");
        String zero = finish(p[0], 0);
        Files.writeString(dir.resolve("release"), "go");
        String one = finish(p[1], 1);
        assertThat(zero).contains("FAILED").contains("NCCL collective #0 (allReduce(count=3, type=7, op=0, root=0))"
                + " on rank 0: rank(s) 1 (in no NCCL call) did not call it within 3000 ms");
        assertThat(one).contains("IDLE").contains("DONE");
    }
}
