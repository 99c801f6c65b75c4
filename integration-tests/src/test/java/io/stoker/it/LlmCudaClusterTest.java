package io.stoker.it;

import io.stoker.spark.Stoker;
import io.stoker.spark.llm.Llm;
import io.stoker.spark.metrics.StokerMetrics;
import io.stoker.spark.plugin.ExecutorReport;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Encoders;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * llmMap on GPU executors, on the CUDA simulator: a local cluster whose two executors have two fake GPUs each runs one
 * CUDA engine per GPU address, with the CPU engine's greedy tokens, the model loaded once per executor across jobs;
 * an injected device out-of-memory (the first sampling launch of one executor) fails exactly the one row of that step.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class LlmCudaClusterTest {
    private static SparkSession spark;
    private static Map<Long, Object> cpu;
    private static Map<String, Long> loadsAfterFirstCudaJob = Map.of();
    private static Map<String, List<String>> backendsAfterFirstCudaJob = Map.of();

    @BeforeAll
    static void start() throws Exception {
        SimulatedGpuCluster.model(); // written before the executors start
        Path marker = Path.of("target", "cuda-oom.marker").toAbsolutePath();
        Files.deleteIfExists(marker);
        // CUDA_ERROR_OUT_OF_MEMORY (2) on the first launch of the sampling kernel, in one executor only
        spark = SimulatedGpuCluster.start("LlmCudaClusterTest", Map.of("spark.task.maxFailures", "1"),
                "inject_launch_error=sample_rows:1:2", "inject_launch_error_marker=" + marker);
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    /** One sequence per step, so a failed step is exactly one row. */
    private static Llm llm(String device) {
        return SimulatedGpuCluster.llm(device).maxNumSeqs(1);
    }

    private static Map<Long, Object> cpuReference() {
        if (cpu == null) {
            cpu = SimulatedGpuCluster.outputs(SimulatedGpuCluster.questions(spark, 24, 4)
                    .transform(Stoker.llm(llm("cpu")).prompt(col("q"))));
            assertThat(cpu).hasSize(24).allSatisfy((id, v) -> assertThat(v).as("CPU row " + id).isInstanceOf(List.class));
        }
        return cpu;
    }

    @Test
    @Order(1)
    void shouldFailOnlyTheRowOfTheStepThatRanOutOfDeviceMemory() {
        Map<Long, Object> ref = cpuReference();
        Map<Long, Object> gpu = SimulatedGpuCluster.outputs(SimulatedGpuCluster.questions(spark, 24, 4)
                .transform(Stoker.llm(llm("auto")).prompt(col("q"))));
        List<Long> failed = new ArrayList<>();
        gpu.forEach((id, v) -> {
            if (v instanceof String error) {
                failed.add(id);
                assertThat(error).contains("ran out of device memory on GPU").contains("CUDA_ERROR_OUT_OF_MEMORY")
                        .contains("lower max_num_seqs");
            } else {
                assertThat(v).as("row " + id + " on CUDA = on the CPU").isEqualTo(ref.get(id));
            }
        });
        assertThat(failed).as("one injected OOM, one sequence per step: exactly one row fails").hasSize(1);
        assertThat(gpu).hasSize(24);
        loadsAfterFirstCudaJob = loads();
        backendsAfterFirstCudaJob = SimulatedGpuCluster.engineBackends(spark);
    }

    private static Map<String, Long> loads() {
        Map<String, Long> m = new java.util.TreeMap<>();
        Stoker.executorReports(spark).forEach((id, r) -> m.put(id, r.metric(StokerMetrics.LLM_MODEL_LOADS)));
        return m;
    }

    @Test
    @Order(2)
    void shouldRunOneCudaEnginePerGpuWithTheCpuTokensAndLoadTheModelOncePerExecutor() {
        Map<Long, Object> ref = cpuReference();
        for (int job = 0; job < 2; job++) {
            assertThat(SimulatedGpuCluster.outputs(SimulatedGpuCluster.questions(spark, 24, 4)
                    .transform(Stoker.llm(llm("auto")).prompt(col("q"))))).as("job " + job).isEqualTo(ref);
        }
        Map<String, List<String>> backends = SimulatedGpuCluster.engineBackends(spark);
        Map<String, ExecutorReport> reports = Stoker.executorReports(spark);
        Set<String> all = new HashSet<>();
        for (ExecutorReport r : reports.values()) {
            List<String> cuda = backends.getOrDefault(r.executorId(), List.of()).stream()
                    .filter(b -> b.startsWith("cuda:")).toList();
            if (cuda.isEmpty()) {
                continue; // this executor ran no LLM task (Spark chose where tasks ran)
            }
            assertThat(cuda).as("one CUDA engine per GPU Spark gave executor " + r.executorId())
                    .containsExactlyInAnyOrderElementsOf(r.gpuAddresses().stream().map(a -> "cuda:" + a).toList());
            assertThat(all.addAll(cuda)).isTrue();
            boolean hadCudaEngines = backendsAfterFirstCudaJob.getOrDefault(r.executorId(), List.of()).stream()
                    .anyMatch(b -> b.startsWith("cuda:"));
            long before = loadsAfterFirstCudaJob.getOrDefault(r.executorId(), 0L);
            assertThat(r.metric(StokerMetrics.LLM_MODEL_LOADS) - before)
                    .as("model loads on " + r.executorId() + " during two jobs (the OOM left the engines up)")
                    .isEqualTo(hadCudaEngines ? 0 : 1);
        }
        assertThat(all).as("CUDA engines ran").isNotEmpty();
    }

    @Test
    @Order(3)
    void shouldFailTheJobOnADeviceOutOfMemoryUnderFailOnError() throws Exception {
        armEveryExecutor("sample_rows:1:2");
        try {
            assertThatThrownBy(() -> SimulatedGpuCluster.outputs(SimulatedGpuCluster.questions(spark, 8, 2)
                    .transform(Stoker.llm(llm("auto").failOnError(true)).prompt(col("q")))))
                    .hasMessageContaining("failed and fail_on_error=true")
                    .hasMessageContaining("ran out of device memory on GPU");
        } finally {
            armEveryExecutor("");
        }
    }

    /** Sets the simulator's injection rule in every executor (tasks run until both executors did it). */
    private static void armEveryExecutor(String rule) throws InterruptedException {
        Set<String> done = new HashSet<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (done.size() < 2) {
            assertThat(System.nanoTime()).as("both executors armed within 60 s").isLessThan(deadline);
            done.addAll(spark.range(0, 8, 1, 8).mapPartitions((MapPartitionsFunction<Long, String>) it -> {
                io.stoker.runtime.cuda.SimulatorFaults.arm(rule);
                return List.of(SparkEnv.get().executorId()).iterator();
            }, Encoders.STRING()).collectAsList());
        }
    }
}
