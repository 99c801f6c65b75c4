package io.stoker.it;

import io.stoker.spark.Stoker;
import io.stoker.spark.llm.Llm;
import io.stoker.spark.plugin.ExecutorReport;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * llmMap with tensor_parallel=2 on GPU executors, on the CUDA simulator: each executor's two fake GPUs hold one
 * engine whose two ranks (GPU actors, simulated NCCL) split the model, with the CPU engine's greedy tokens.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class LlmCudaTensorParallelClusterTest {
    private static SparkSession spark;

    @BeforeAll
    static void start() throws Exception {
        spark = SimulatedGpuCluster.start("LlmCudaTensorParallelClusterTest", Map.of("spark.task.maxFailures", "1"));
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    private static Llm llm(String device, int tp) {
        return Llm.model(SimulatedGpuCluster.model()).device(device).tensorParallel(tp).maxTokens(6)
                .returnTokenIds(true).option("ignore_eos", true).kvCacheMb(4).batchRows(4);
    }

    @Test
    void shouldSplitEachEngineOverTheExecutorsTwoGpusWithTheCpuTokens() {
        Map<Long, Object> cpu = SimulatedGpuCluster.outputs(SimulatedGpuCluster.questions(spark, 16, 4)
                .transform(Stoker.llm(llm("cpu", 1)).prompt(col("q"))));
        assertThat(cpu).hasSize(16).allSatisfy((id, v) -> assertThat(v).isInstanceOf(List.class));
        Map<Long, Object> tp = SimulatedGpuCluster.outputs(SimulatedGpuCluster.questions(spark, 16, 4)
                .transform(Stoker.llm(llm("cuda", 2)).prompt(col("q"))));
        assertThat(tp).as("tensor-parallel CUDA engines give the CPU tokens").isEqualTo(cpu);

        Map<String, List<String>> backends = SimulatedGpuCluster.engineBackends(spark);
        int withEngine = 0;
        for (ExecutorReport r : Stoker.executorReports(spark).values()) {
            List<String> cuda = backends.getOrDefault(r.executorId(), List.of()).stream()
                    .filter(b -> b.startsWith("cuda")).toList();
            if (cuda.isEmpty()) {
                continue;
            }
            withEngine++;
            // one engine whose ranks take the runtime's GPUs (backend "cuda"), not one engine per GPU ("cuda:N")
            assertThat(cuda).as("one engine over both GPUs of executor " + r.executorId()).containsExactly("cuda");
            assertThat(r.gpuAddresses()).as("executor " + r.executorId() + " has two GPUs for the two ranks").hasSize(2);
        }
        assertThat(withEngine).as("executors that ran a tensor-parallel CUDA engine").isPositive();
    }
}
