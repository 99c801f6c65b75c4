package io.stoker.it;

import io.stoker.llm.testkit.RandomModelWriter;
import io.stoker.llm.tensor.DType;
import io.stoker.spark.Stoker;
import io.stoker.spark.llm.Llm;
import io.stoker.spark.plugin.ExecutorReport;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Managed OpenAI-compatible servers on a local cluster with fake GPUs, `stoker serve` as the command: one server per
 * GPU of each executor with exactly that GPU in CUDA_VISIBLE_DEVICES, llmMap feeding them over loopback, a server
 * killed with SIGKILL mid-job restarted without losing or duplicating a row, and no server left after the
 * application ends.
 */
@Timeout(value = 600, unit = TimeUnit.SECONDS)
class ManagedServerClusterTest {
    private static final RandomModelWriter.Spec SPEC = new RandomModelWriter.Spec("LlamaForCausalLM", 64, 128, 2, 4,
            2, 384, 512, false, false, 31);

    @Test
    void shouldRunOneServerPerGpuRestartAKilledOneAndLeaveNoProcessBehind() throws Exception {
        Path dir = Path.of("target", "managed-servers").toAbsolutePath();
        deleteTree(dir);
        Path model = dir.resolve("model");
        RandomModelWriter.writeHf(SPEC, model, DType.F32);
        Path script = dir.resolve("discover-gpus.sh");
        Files.writeString(script, String.join("\n", "#!/bin/sh",
                "dir=\"$(dirname \"$0\")/claims\"", "mkdir -p \"$dir\"", "i=0",
                "while ! mkdir \"$dir/$i\" 2>/dev/null; do i=$((i+1)); done",
                "echo \"{\\\"name\\\":\\\"gpu\\\",\\\"addresses\\\":[\\\"$((i*2))\\\",\\\"$((i*2+1))\\\"]}\"", ""));
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path serve = Path.of(System.getProperty("stoker.it.serveDir"));
        String classpath = serve.resolve("classes") + ":" + Files.readString(serve.resolve("stoker-classpath.txt")).trim();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String command = java + " -XX:TieredStopAtLevel=1 --add-modules=jdk.incubator.vector -cp " + classpath
                + " io.stoker.serve.ServeCommand --model {model} --port {port} --threads 1 --kv-cache-mb 8";

        Map<String, String> conf = new HashMap<>();
        conf.put("spark.worker.resource.gpu.amount", "2");
        conf.put("spark.worker.resource.gpu.discoveryScript", script.toString());
        conf.put("spark.executor.resource.gpu.amount", "2");
        conf.put("spark.task.resource.gpu.amount", "1");
        conf.put("spark.stoker.server.tiny.command", command);
        conf.put("spark.stoker.server.tiny.model", model.toString());
        conf.put("spark.stoker.server.tiny.gpus", "1");
        conf.put("spark.stoker.server.tiny.startTimeoutMs", "240000");
        SparkSession spark = Clusters.start(Clusters.LOCAL_CLUSTER, "ManagedServerClusterTest", conf);
        Set<Long> executorPids = new HashSet<>();
        try {
            LocalClusterTest.awaitExecutors(spark, 2);
            Llm llm = Llm.server("tiny").maxTokens(12).option("ignore_eos", true)
                    .maxRetries(12).batchRows(8).maxInFlightPerTask(16);
            // a warm-up job starts the servers (one per GPU on each executor)
            assertThat(spark.range(0, 8, 1, 4).selectExpr("id", "concat('warm ', id) AS q")
                    .transform(Stoker.llm(llm).prompt(col("q"))).filter("error IS NULL").collectAsList()).hasSize(8);

            Map<String, ExecutorReport> reports = Stoker.executorReports(spark);
            assertThat(reports).hasSize(2);
            List<Long> servers = new ArrayList<>();
            for (ExecutorReport r : reports.values()) {
                executorPids.add(r.pid());
                Map<Long, String> devices = serversOf(r.pid(), model);
                assertThat(devices).as("servers of executor " + r.executorId()).hasSize(2);
                assertThat(new HashSet<>(devices.values())).as("each server sees exactly one of the executor's GPUs")
                        .isEqualTo(new HashSet<>(r.gpuAddresses()));
                servers.addAll(devices.keySet());
            }

            int n = 320;
            ExecutorService bg = Executors.newSingleThreadExecutor();
            try {
                Future<List<Row>> job = bg.submit(() -> {
                    SparkSession.setActiveSession(spark);
                    return spark.range(0, n, 1, 8).selectExpr("id", "concat('question ', id) AS q")
                            .transform(Stoker.llm(llm).prompt(col("q"))).select("id", "error", "num_generated_tokens")
                            .collectAsList();
                });
                awaitRunningTasks(spark);
                long victim = servers.get(0);
                assertThat(new ProcessBuilder("kill", "-9", Long.toString(victim)).start().waitFor()).isZero();
                List<Row> rows = job.get(480, TimeUnit.SECONDS);
                assertThat(rows).hasSize(n);
                Set<Long> ids = new HashSet<>();
                for (Row r : rows) {
                    assertThat(ids.add(r.getLong(0))).as("row " + r.getLong(0) + " once").isTrue();
                    assertThat(r.getString(1)).as("row " + r.getLong(0)).isNull();
                    assertThat(r.getInt(2)).isEqualTo(12);
                }
                assertThat(ProcessHandle.of(victim).map(ProcessHandle::isAlive).orElse(false)).isFalse();
            } finally {
                bg.shutdownNow();
            }
            int after = 0;
            for (long pid : executorPids) {
                after += serversOf(pid, model).size();
            }
            assertThat(after).as("the killed server was restarted").isEqualTo(4);
        } finally {
            spark.stop();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        List<Long> left = remaining(model);
        while (!left.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(200);
            left = remaining(model);
        }
        assertThat(left).as("server processes left after the application").isEmpty();
    }

    /** @return pid → CUDA_VISIBLE_DEVICES of the server processes under an executor JVM */
    private static Map<Long, String> serversOf(long executorPid, Path model) throws Exception {
        Map<Long, String> out = new HashMap<>();
        for (ProcessHandle h : ProcessHandle.of(executorPid).map(p -> p.descendants().toList()).orElse(List.of())) {
            if (isServer(h, model)) {
                out.put(h.pid(), environ(h.pid()).getOrDefault("CUDA_VISIBLE_DEVICES", "?"));
            }
        }
        return out;
    }

    private static List<Long> remaining(Path model) {
        return ProcessHandle.allProcesses().filter(h -> isServer(h, model)).map(ProcessHandle::pid).toList();
    }

    private static boolean isServer(ProcessHandle h, Path model) {
        try {
            String cmd = Files.readString(Path.of("/proc", Long.toString(h.pid()), "cmdline"), StandardCharsets.UTF_8);
            return cmd.contains("io.stoker.serve.ServeCommand") && cmd.contains(model.toString())
                    && !cmd.contains("stoker-server-guard");
        } catch (Exception e) {
            return false;
        }
    }

    private static Map<String, String> environ(long pid) throws Exception {
        Map<String, String> env = new HashMap<>();
        byte[] b = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ"));
        for (String kv : new String(b, StandardCharsets.UTF_8).split("\0")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                env.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        return env;
    }

    private static void awaitRunningTasks(SparkSession spark) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            for (int stage : spark.sparkContext().statusTracker().getActiveStageIds()) {
                org.apache.spark.SparkStageInfo info = spark.sparkContext().statusTracker().getStageInfo(stage)
                        .getOrElse(() -> null);
                if (info != null && info.numTasks() == 8 && info.numActiveTasks() > 0) {
                    Thread.sleep(1500);
                    return;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the job never ran within 120 s");
    }

    private static void deleteTree(Path dir) throws java.io.IOException {
        if (Files.exists(dir)) {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
