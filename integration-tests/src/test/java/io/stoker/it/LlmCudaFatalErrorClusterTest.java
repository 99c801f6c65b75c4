package io.stoker.it;

import io.stoker.spark.Stoker;
import io.stoker.spark.llm.Llm;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A fatal CUDA error on a GPU executor (an illegal address injected into the simulator's first sampling launch of
 * one executor): that executor exits with code 20, Spark reschedules its tasks, and the job completes with the CPU
 * engine's tokens for every row.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class LlmCudaFatalErrorClusterTest {
    private static SparkSession spark;
    private static final List<String> REMOVED = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        SimulatedGpuCluster.model(); // written before the executors start
        Path marker = Path.of("target", "cuda-fatal.marker").toAbsolutePath();
        Files.deleteIfExists(marker);
        // CUDA_ERROR_ILLEGAL_ADDRESS (700, sticky) on the first launch of the sampling kernel, in one executor only
        spark = SimulatedGpuCluster.start("LlmCudaFatalErrorClusterTest", Map.of("spark.task.maxFailures", "4"),
                "inject_launch_error=sample_rows:1:700", "inject_launch_error_marker=" + marker);
        spark.sparkContext().addSparkListener(new SparkListener() {
            @Override
            public void onExecutorRemoved(SparkListenerExecutorRemoved e) {
                REMOVED.add(e.executorId() + ": " + e.reason());
            }
        });
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    private static Llm llm(String device) {
        return SimulatedGpuCluster.llm(device);
    }

    @Test
    void shouldExitTheExecutorOnAFatalCudaErrorAndFinishTheJobElsewhere() {
        Map<Long, Object> cpu = SimulatedGpuCluster.outputs(SimulatedGpuCluster.questions(spark, 16, 4)
                .transform(Stoker.llm(llm("cpu")).prompt(col("q"))));
        assertThat(cpu).hasSize(16).allSatisfy((id, v) -> assertThat(v).isInstanceOf(List.class));
        long t0 = System.nanoTime();
        Map<Long, Object> gpu = SimulatedGpuCluster.outputs(SimulatedGpuCluster.questions(spark, 16, 4)
                .transform(Stoker.llm(llm("cuda")).prompt(col("q"))));
        assertThat(gpu).as("every row, rescheduled after the executor exited, equals the CPU run").isEqualTo(cpu);
        assertThat(REMOVED).as("the executor with the fatal error exited with code 20").anySatisfy(r ->
                assertThat(r).contains("exited with code 20"));
        assertThat((System.nanoTime() - t0) / 1e9).as("seconds to finish despite the lost executor").isLessThan(150);
    }
}
