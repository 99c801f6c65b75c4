package io.stoker.llm;

import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.batch.LocalExecutor;
import io.stoker.llm.batch.ModelExecutor;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.model.Partition;
import io.stoker.llm.parallel.ParallelExecutor;
import io.stoker.llm.parallel.ShardWorker;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.comm.NcclCommunicator;
import io.stoker.runtime.cuda.CudaActors;
import io.stoker.runtime.cuda.CudaDeviceConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Tensor and pipeline parallelism of the engine on the CUDA backend (the simulator in CI: each worker a GPU actor on
 * its own simulated device, tensor-parallel ranks in an {@link NcclCommunicator} whose collectives block until every
 * rank arrives; pipeline stages joined by a GPU channel, a peer copy between the simulated devices). TP=2 and PP=2 give
 * TP=1's greedy tokens for 32 steps (4 requests at once) and its logits at every prompt position within the stated
 * tolerance (TP=2: 1e-5, measured 3.0e-6; PP=2: bit-identical).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class CudaParallelExecutorTest {
    private static final Logger LOG = LoggerFactory.getLogger(CudaParallelExecutorTest.class);
    static LoadedModel model;
    StokerRuntime rt;

    @BeforeAll
    static void load() {
        model = ModelLoader.load(CudaEngineTest.ENGINE_MODEL);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @BeforeEach
    void start() {
        rt = StokerRuntime.create(RuntimeConfig.defaults().withName("llm-cuda-parallel-test")
                .withGpuIds(List.of("0", "1")));
    }

    @AfterEach
    void stop() {
        rt.close();
        assertThat(rt.actors()).as("actors left behind").isEmpty();
    }

    static EngineConfig cuda() {
        return LlmEngineTest.config().withBackend("cuda");
    }

    private static List<GenerationResult> generate(ModelExecutor ex) throws Exception {
        try (LlmEngine e = new LlmEngine(model, ex, cuda())) {
            List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                fs.add(e.submit(GenerationRequest.ofIds(LlmEngineTest.prompt(5 + 7 * i, 40 + i),
                        SamplingParams.builder().maxTokens(32).ignoreEos(true).build())));
            }
            e.runUntilIdle();
            List<GenerationResult> out = new ArrayList<>();
            for (CompletableFuture<GenerationResult> f : fs) {
                out.add(f.get());
            }
            return out;
        }
    }

    /** @return the measured max |parallel - TP=1| logit over the prompt's positions */
    private double assertMatchesTp1(Function<LoadedModel, ParallelExecutor> parallel, double tolerance,
                                    String what) throws Exception {
        int vocab = model.config().vocabSize();
        int[] prompt = LlamaReferenceTest.PROMPT;
        float[][] single;
        List<GenerationResult> expected;
        // TP=1 on the test's thread, which opens (and, closing the executor, closes) device 0
        try (LocalExecutor ex = new LocalExecutor(model, cuda())) {
            single = ParallelExecutorTest.promptLogits(ex, vocab, prompt);
        }
        expected = generate(new LocalExecutor(model, cuda()));
        float[][] par;
        try (ParallelExecutor ex = parallel.apply(model)) {
            par = ParallelExecutorTest.promptLogits(ex, vocab, prompt);
        }
        double diff = ParallelExecutorTest.maxDiff(par, single);
        LOG.info("{} on the CUDA backend: max |logit - TP=1| = {}", what, diff);
        assertThat(diff).as("%s: max |logit - TP=1 logit| over %d positions", what, prompt.length)
                .isLessThanOrEqualTo(tolerance);
        List<GenerationResult> got = generate(parallel.apply(model));
        for (int i = 0; i < expected.size(); i++) {
            assertThat(got.get(i).tokenIds()).as("%s: greedy tokens of request %d", what, i)
                    .hasSize(32).containsExactly(expected.get(i).tokenIds());
        }
        return diff;
    }

    @Test
    void shouldMatchTp1WithTensorParallelism2OverNccl() throws Exception {
        assertMatchesTp1(m -> {
            ParallelExecutor ex = ParallelExecutor.tensorParallel(rt, m, cuda(), 2);
            // a host-array collective would be refused by the NCCL communicator: this proves the device path
            assertThat(ex.communicator()).isInstanceOf(NcclCommunicator.class);
            return ex;
        }, 1e-5, "TP=2");
    }

    @Test
    void shouldMatchTp1BitForBitWithPipelineParallelism2() throws Exception {
        assertMatchesTp1(m -> {
            ParallelExecutor ex = ParallelExecutor.pipelineParallel(rt, m, cuda(), 2);
            // the stages' hidden states cross as device memory: a peer copy between the two GPUs, not the host
            assertThat(ex.scheduleToDot()).contains("gpu peer_copy");
            return ex;
        }, 0.0, "PP=2");
    }

    @Test
    void shouldSayHowManyGpusTheWorkersNeed() {
        try (StokerRuntime one = StokerRuntime.create(RuntimeConfig.defaults().withName("one-gpu")
                .withGpuIds(List.of("0")))) {
            assertThatThrownBy(() -> ParallelExecutor.tensorParallel(one, model, cuda(), 2))
                    .hasMessageContaining("2 workers on the CUDA backend need 2 GPUs")
                    .hasMessageContaining("RuntimeConfig.withGpuIds");
        }
        assertThatThrownBy(() -> ParallelExecutor.pipelineParallel(rt, model, cuda().withBackend("cuda:1"), 2))
                .hasMessageContaining("backend=cuda:1").hasMessageContaining("use backend=cuda");
    }

    /**
     * Two GPU ranks whose shards disagree (rank 1 holds a model of hidden size 96, rank 0 of 64): their first
     * allreduce (o_proj's partial sums, 3 x 64 vs 3 x 96 floats) does not match. Both ranks fail that call, naming
     * both calls, instead of waiting for each other or reducing mismatched buffers.
     */
    @Test
    void shouldFailEveryRankNamingBothCallsWhenShardsIssueMismatchedCollectives() throws Exception {
        try (LoadedModel other = ModelLoader.load(CudaEngineTest.ENGINE_MODEL.replace("hidden=64", "hidden=96"))) {
            List<ActorHandle<ShardWorker>> hs = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                hs.add(rt.createActor(ActorSpec.of("mismatch-" + r, CudaActors.onDevice(CudaDeviceConfig.defaults(),
                        (ctx, device) -> ShardWorker.onDevice(device))).withGpus(1)));
            }
            NcclCommunicator comm = NcclCommunicator.create("mismatch", hs, 20, TimeUnit.SECONDS);
            try {
                EngineConfig cfg = cuda();
                int blocks = cfg.kvBlocks(model.config());
                List<CompletableFuture<Boolean>> inits = new ArrayList<>();
                for (int r = 0; r < 2; r++) {
                    inits.add(hs.get(r).call(ShardWorker::init, new ShardWorker.Init(r == 0 ? model : other,
                            Partition.tensorShard(r, 2, 4), comm, cfg.runnerConfig(blocks, 1))));
                }
                for (CompletableFuture<Boolean> f : inits) {
                    assertThat(f.get()).isTrue();
                }
                ForwardBatch b = ForwardBatch.single(new int[] {5, 17, 300}, 0, new int[] {0}, true);
                List<CompletableFuture<float[]>> fs = new ArrayList<>();
                for (ActorHandle<ShardWorker> h : hs) {
                    fs.add(h.call(ShardWorker::forward, b, (float[]) null));
                }
                for (int r = 0; r < 2; r++) {
                    CompletableFuture<float[]> f = fs.get(r);
                    assertThatThrownBy(f::get).as("rank %d", r).isInstanceOf(ExecutionException.class)
                            .hasStackTraceContaining("rank 0 called allreduce")
                            .hasStackTraceContaining("but rank 1 called allreduce")
                            .hasStackTraceContaining("192").hasStackTraceContaining("288");
                }
            } finally {
                comm.close();
                hs.forEach(ActorHandle::close);
            }
        }
    }
}
