package io.stoker.it;

import io.stoker.spark.Stoker;
import io.stoker.spark.llm.Llm;
import io.stoker.spark.plugin.ExecutorReport;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * llmMap with pipeline_parallel=2 on GPU executors, on the CUDA simulator: each executor's two fake GPUs hold one
 * engine whose two stage actors (one layer each) pass hidden states over GPU channels, with the single-worker engine's
 * greedy tokens for every row. The reference runs on the CPU: two engines with different options cannot both hold an
 * executor's GPUs (docs/llm-on-spark.md), and LlmCudaClusterTest shows the single-GPU CUDA engine gives the CPU tokens.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class LlmCudaPipelineParallelClusterTest {
    private static SparkSession spark;

    @BeforeAll
    static void start() throws Exception {
        spark = SimulatedGpuCluster.start("LlmCudaPipelineParallelClusterTest", Map.of("spark.task.maxFailures", "1"));
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    private static Llm llm(String device, int pp) {
        return Llm.model(SimulatedGpuCluster.model()).device(device).pipelineParallel(pp).maxTokens(6)
                .returnTokenIds(true).option("ignore_eos", true).kvCacheMb(4).batchRows(4);
    }

    @Test
    void shouldSplitEachEngineIntoStagesOnTheExecutorsTwoGpusWithTheSingleEnginesTokens() {
        Map<Long, Object> single = SimulatedGpuCluster.outputs(SimulatedGpuCluster.questions(spark, 16, 4)
                .transform(Stoker.llm(llm("cpu", 1)).prompt(col("q"))));
        assertThat(single).hasSize(16).allSatisfy((id, v) -> assertThat(v).isInstanceOf(List.class));
        Map<Long, Object> pp = SimulatedGpuCluster.outputs(SimulatedGpuCluster.questions(spark, 16, 4)
                .transform(Stoker.llm(llm("cuda", 2)).prompt(col("q"))));
        assertThat(pp).as("16 rows in, 16 rows out, each with the single engine's tokens").isEqualTo(single);

        Map<String, List<String>> backends = SimulatedGpuCluster.engineBackends(spark);
        Map<String, List<String>> stages = SimulatedGpuCluster.actorGpus(spark, "pp\\d+-stage-\\d+");
        int withEngine = 0;
        for (ExecutorReport r : Stoker.executorReports(spark).values()) {
            List<String> cuda = backends.getOrDefault(r.executorId(), List.of()).stream()
                    .filter(b -> b.startsWith("cuda")).toList();
            if (cuda.isEmpty()) {
                continue;
            }
            withEngine++;
            assertThat(cuda).as("one engine over both GPUs of executor " + r.executorId()).containsExactly("cuda");
            List<String> held = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (String s : stages.getOrDefault(r.executorId(), List.of())) {
                names.add(s.replaceAll("^pp\\d+-|@.*$", ""));
                held.add(s.substring(s.indexOf('@') + 1));
            }
            assertThat(names).as("stage actors of executor " + r.executorId()).containsExactlyInAnyOrder("stage-0",
                    "stage-1");
            assertThat(held).as("each stage holds one of executor " + r.executorId() + "'s GPUs")
                    .containsExactlyInAnyOrderElementsOf(r.gpuAddresses());
        }
        assertThat(withEngine).as("executors that ran a pipeline-parallel CUDA engine").isPositive();

        // the executor's GPU checks count the stages: three need three GPUs, two engines of two need four
        assertThatThrownBy(() -> SimulatedGpuCluster.questions(spark, 2, 1)
                .transform(Stoker.llm(llm("cuda", 3)).prompt(col("q"))).collectAsList())
                .hasMessageContaining("LLM option 'pipeline_parallel' = 3 on CUDA needs that many GPUs per executor")
                .hasMessageContaining("or lower pipeline_parallel");
        assertThatThrownBy(() -> SimulatedGpuCluster.questions(spark, 2, 1)
                .transform(Stoker.llm(llm("cuda", 2).engines(2)).prompt(col("q"))).collectAsList())
                .hasMessageContaining("LLM option 'engines' = 2, but executor")
                .hasMessageContaining("each CUDA engine needs 2 of its own (pipeline_parallel)");
    }
}
