package io.stoker.llm;

import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.sample.TokenLogprobs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The engine, its scheduler and prefix caching, unchanged, on the CUDA backend (the simulator in CI): the same tokens
 * as the CPU engine (greedy for 32 steps, and seeded sampling with top-p, top-k, min-p and penalties), logprobs within
 * 1e-4 of the CPU's, and batch invariance bit for bit (alone, together, reversed with chunked prefill, after
 * preemption, with prefix-cache hits). Engines are stepped on the test's thread, which holds the device.
 */
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SAME_THREAD)
class CudaEngineTest {
    /** {@link TestModels#ENGINE}'s shape: hidden 64, ffn 128, 4 layers, 4 heads, 2 KV heads, vocab 384. */
    static final String ENGINE_MODEL = "random:hidden=64,intermediate=128,layers=4,heads=4,kv_heads=2,vocab=384,"
            + "max_positions=512,dtype=f32,seed=5";
    static LoadedModel model;

    @BeforeAll
    static void load() {
        // the engine tests' shape as a random: model: no files and no tokenizer, so the GPU check's bundle (which
        // leaves out the tokenizer library) runs it too (CudaBackendReferenceTest covers uploads from checkpoints)
        model = ModelLoader.load(ENGINE_MODEL);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static EngineConfig cuda() {
        return LlmEngineTest.config().withBackend("cuda");
    }

    /** Four greedy requests of 32 tokens and the engine tests' mix of greedy and seeded sampled requests. */
    static List<GenerationRequest> requests() {
        List<GenerationRequest> rs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            rs.add(GenerationRequest.ofIds(LlmEngineTest.prompt(5 + 7 * i, 40 + i),
                    SamplingParams.builder().maxTokens(32).ignoreEos(true).build()));
        }
        rs.addAll(LlmEngineTest.mixedRequests());
        return rs;
    }

    static List<GenerationResult> run(List<GenerationRequest> rs, EngineConfig cfg, long[] stats) throws Exception {
        try (LlmEngine e = LlmEngine.local(model, cfg)) {
            List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
            for (GenerationRequest r : rs) {
                fs.add(e.submit(r));
            }
            e.runUntilIdle();
            if (stats != null) {
                stats[0] = e.stats().preemptions();
            }
            List<GenerationResult> out = new ArrayList<>();
            for (CompletableFuture<GenerationResult> f : fs) {
                out.add(f.get());
            }
            return out;
        }
    }

    @Test
    void shouldGiveTheCpuEnginesTokensAndLogprobs() throws Exception {
        List<GenerationRequest> rs = requests();
        List<GenerationResult> cpu = run(rs, LlmEngineTest.config(), null);
        List<GenerationResult> gpu = run(rs, cuda(), null);
        for (int i = 0; i < rs.size(); i++) {
            assertThat(gpu.get(i).tokenIds()).as("request %d: CUDA tokens vs CPU tokens", i)
                    .containsExactly(cpu.get(i).tokenIds());
            List<TokenLogprobs> a = gpu.get(i).logprobs();
            List<TokenLogprobs> b = cpu.get(i).logprobs();
            assertThat(a).hasSameSizeAs(b);
            for (int t = 0; t < a.size(); t++) {
                assertThat(a.get(t).topTokens()).containsExactly(b.get(t).topTokens());
                assertThat(a.get(t).token()).isEqualTo(b.get(t).token());
                assertThat(Math.abs(a.get(t).logprob() - b.get(t).logprob())).isLessThan(1e-4f);
                for (int k = 0; k < a.get(t).topLogprobs().length; k++) {
                    assertThat(Math.abs(a.get(t).topLogprobs()[k] - b.get(t).topLogprobs()[k]))
                            .as("request %d step %d logprob %d", i, t, k).isLessThan(1e-4f);
                }
            }
        }
        assertThat(gpu.get(0).tokenIds()).hasSize(32);
    }

    @Test
    void shouldProduceBitIdenticalOutputsAloneInABatchAndAfterPreemption() throws Exception {
        List<GenerationRequest> rs = LlmEngineTest.mixedRequests();
        List<GenerationResult> alone = new ArrayList<>();
        for (GenerationRequest r : rs) {
            alone.add(run(List.of(r), cuda(), null).get(0));
        }
        LlmEngineTest.assertSameOutputs(run(rs, cuda(), null), alone);
        List<GenerationRequest> rev = new ArrayList<>(rs);
        Collections.reverse(rev);
        List<GenerationResult> expRev = new ArrayList<>(alone);
        Collections.reverse(expRev);
        LlmEngineTest.assertSameOutputs(run(rev, cuda().withMaxBatchTokens(7).withMaxNumSeqs(3), null), expRev);
        // 4 layers * 2 kv heads * 16 dims * 4 tokens * 2 (K, V) * 4 bytes = 4 KiB per block; 24 blocks = 96 tokens
        long[] preemptions = new long[1];
        List<GenerationResult> tight = run(rs, cuda().withBlockSize(4).withKvCacheBytes(24L * 4096), preemptions);
        assertThat(preemptions[0]).as("preemptions").isGreaterThan(0);
        LlmEngineTest.assertSameOutputs(tight, alone);
    }

    @Test
    void shouldReuseCachedPrefixBlocksWithIdenticalOutputs() throws Exception {
        int[] shared = LlmEngineTest.prompt(37, 9);
        List<GenerationRequest> rs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            int[] p = java.util.Arrays.copyOf(shared, 37 + 3);
            p[37] = 5 + i;
            p[38] = 50 + i;
            p[39] = 100 + i;
            rs.add(GenerationRequest.ofIds(p, SamplingParams.builder().maxTokens(8).ignoreEos(true).logprobs(2)
                    .build()));
        }
        EngineConfig cfg = cuda().withBlockSize(4);
        List<GenerationResult> off = new ArrayList<>();
        for (GenerationRequest r : rs) {
            off.add(run(List.of(r), cfg.withPrefixCaching(false), null).get(0));
        }
        try (LlmEngine e = LlmEngine.local(model, cfg)) {
            List<GenerationResult> on = new ArrayList<>();
            for (GenerationRequest r : rs) {
                CompletableFuture<GenerationResult> f = e.submit(r);
                e.runUntilIdle();
                on.add(f.get());
            }
            LlmEngineTest.assertSameOutputs(on, off);
            // 37 shared tokens = 9 full blocks of 4, reused by the two later requests
            assertThat(e.stats().prefixCacheHits()).isEqualTo(2 * 36);
        }
    }
}
