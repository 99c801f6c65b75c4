package io.stoker.it;

import io.stoker.spark.Stoker;
import io.stoker.spark.llm.Llm;
import io.stoker.spark.plugin.ExecutorReport;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * llmMap with tensor_parallel=2 and with pipeline_parallel=2 on GPU executors, on the CUDA simulator: each executor's
 * two fake GPUs hold one engine over both (TP: two ranks over simulated NCCL; PP: two stage actors of one layer each
 * passing hidden states over GPU channels), with the CPU engine's greedy tokens for every row. Each test has its own
 * cluster: two engines with different options cannot both hold an executor's GPUs (docs/llm-on-spark.md); the
 * reference runs on the CPU, and LlmCudaClusterTest shows the single-GPU CUDA engine gives the CPU tokens.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class LlmCudaParallelClusterTest {
    private static Llm llm(String device) {
        return SimulatedGpuCluster.llm(device);
    }

    /**
     * Runs 16 rows on the CPU and with {@code parallel} on CUDA in a fresh cluster, checks they give the same tokens
     * and that each executor that ran the CUDA engine holds exactly one over both its GPUs, then hands each such
     * executor's report to {@code perExecutor} and the session to {@code more}.
     */
    private static void onTwoGpus(String app, UnaryOperator<Llm> parallel,
                                  BiConsumer<SparkSession, ExecutorReport> perExecutor,
                                  Consumer<SparkSession> more) throws Exception {
        SparkSession spark = SimulatedGpuCluster.start(app, Map.of("spark.task.maxFailures", "1"));
        try {
            Map<Long, Object> cpu = SimulatedGpuCluster.outputs(SimulatedGpuCluster.questions(spark, 16, 4)
                    .transform(Stoker.llm(llm("cpu")).prompt(col("q"))));
            assertThat(cpu).hasSize(16).allSatisfy((id, v) -> assertThat(v).isInstanceOf(List.class));
            Map<Long, Object> par = SimulatedGpuCluster.outputs(SimulatedGpuCluster.questions(spark, 16, 4)
                    .transform(Stoker.llm(parallel.apply(llm("cuda"))).prompt(col("q"))));
            assertThat(par).as("16 rows in, 16 rows out, each with the CPU engine's tokens").isEqualTo(cpu);

            Map<String, List<String>> backends = SimulatedGpuCluster.engineBackends(spark);
            int withEngine = 0;
            for (ExecutorReport r : Stoker.executorReports(spark).values()) {
                List<String> cuda = backends.getOrDefault(r.executorId(), List.of()).stream()
                        .filter(b -> b.startsWith("cuda")).toList();
                if (cuda.isEmpty()) {
                    continue;
                }
                withEngine++;
                // one engine whose workers take the runtime's GPUs (backend "cuda"), not one engine per GPU ("cuda:N")
                assertThat(cuda).as("one engine over both GPUs of executor " + r.executorId()).containsExactly("cuda");
                assertThat(r.gpuAddresses()).as("executor " + r.executorId() + " has two GPUs").hasSize(2);
                perExecutor.accept(spark, r);
            }
            assertThat(withEngine).as("executors that ran a parallel CUDA engine").isPositive();
            more.accept(spark);
        } finally {
            spark.stop();
        }
    }

    @Test
    void shouldSplitEachEngineIntoTensorParallelRanksOverTheExecutorsTwoGpus() throws Exception {
        onTwoGpus("LlmCudaTensorParallelClusterTest", l -> l.tensorParallel(2), (spark, r) -> { }, spark -> { });
    }

    @Test
    void shouldSplitEachEngineIntoPipelineStagesOnTheExecutorsTwoGpus() throws Exception {
        onTwoGpus("LlmCudaPipelineParallelClusterTest", l -> l.pipelineParallel(2), (spark, r) -> {
            List<String> held = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (String s : SimulatedGpuCluster.actorGpus(spark, "pp\\d+-stage-\\d+")
                    .getOrDefault(r.executorId(), List.of())) {
                names.add(s.replaceAll("^pp\\d+-|@.*$", ""));
                held.add(s.substring(s.indexOf('@') + 1));
            }
            assertThat(names).as("stage actors of executor " + r.executorId())
                    .containsExactlyInAnyOrder("stage-0", "stage-1");
            assertThat(held).as("each stage holds one of executor " + r.executorId() + "'s GPUs")
                    .containsExactlyInAnyOrderElementsOf(r.gpuAddresses());
        }, spark -> {
            // the executor's GPU checks count the stages: three need three GPUs, two engines of two need four
            assertThatThrownBy(() -> SimulatedGpuCluster.questions(spark, 2, 1)
                    .transform(Stoker.llm(llm("cuda").pipelineParallel(3)).prompt(col("q"))).collectAsList())
                    .hasMessageContaining("LLM option 'pipeline_parallel' = 3 on CUDA needs that many GPUs per executor")
                    .hasMessageContaining("or lower pipeline_parallel");
            assertThatThrownBy(() -> SimulatedGpuCluster.questions(spark, 2, 1)
                    .transform(Stoker.llm(llm("cuda").pipelineParallel(2).engines(2)).prompt(col("q")))
                    .collectAsList())
                    .hasMessageContaining("LLM option 'engines' = 2, but executor")
                    .hasMessageContaining("each CUDA engine needs 2 of its own (pipeline_parallel)");
        });
    }
}
