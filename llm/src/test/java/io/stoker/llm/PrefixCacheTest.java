package io.stoker.llm;

import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.tensor.DType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/** Automatic prefix caching: shared prompt prefixes are computed once, evicted LRU, and outputs never change. */
class PrefixCacheTest {
    static LoadedModel model;

    @BeforeAll
    static void load() {
        model = ModelLoader.load(TestModels.hf(TestModels.ENGINE, DType.F32).toString());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static EngineConfig config(boolean caching) {
        return LlmEngineTest.config().withBlockSize(4).withPrefixCaching(caching);
    }

    /** {@code shared} prompt tokens common to all, then a few tokens of its own. */
    static List<GenerationRequest> sharedPrefix(int shared, int n, int offset) {
        int[] prefix = LlmEngineTest.prompt(shared, 7 + offset);
        List<GenerationRequest> rs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] own = LlmEngineTest.prompt(3 + i, 50 + i + offset);
            int[] p = new int[shared + own.length];
            System.arraycopy(prefix, 0, p, 0, shared);
            System.arraycopy(own, 0, p, shared, own.length);
            SamplingParams sp = i % 2 == 0
                    ? SamplingParams.builder().maxTokens(8).ignoreEos(true).logprobs(3).build()
                    : SamplingParams.builder().maxTokens(8).temperature(0.8).topK(40).seed(11L + i).ignoreEos(true)
                    .logprobs(2).build();
            rs.add(GenerationRequest.ofIds(p, sp));
        }
        return rs;
    }

    /** Submits the requests one after another (each runs to completion before the next arrives). */
    static List<GenerationResult> oneByOne(LlmEngine e, List<GenerationRequest> rs) throws Exception {
        List<GenerationResult> out = new ArrayList<>();
        for (GenerationRequest r : rs) {
            CompletableFuture<GenerationResult> f = e.submit(r);
            e.runUntilIdle();
            out.add(f.get());
        }
        return out;
    }

    @Test
    void shouldComputeASharedPrefixOnceAndGiveIdenticalOutputs() throws Exception {
        List<GenerationRequest> rs = sharedPrefix(37, 4, 0);
        List<GenerationResult> expected;
        long computedWithout;
        try (LlmEngine off = LlmEngine.local(model, config(false))) {
            expected = oneByOne(off, rs);
            computedWithout = off.stats().promptTokensComputed();
            assertThat(off.stats().prefixCacheHits()).isZero();
        }
        try (LlmEngine on = LlmEngine.local(model, config(true))) {
            List<GenerationResult> got = oneByOne(on, rs);
            LlmEngineTest.assertSameOutputs(got, expected);
            LlmEngine.Stats st = on.stats();
            // 37 shared tokens = 9 full blocks of 4 reused by each of the 3 later requests
            assertThat(st.prefixCacheHits()).isEqualTo(3 * 36);
            assertThat(st.promptTokensComputed()).isEqualTo(computedWithout - 3 * 36);
            assertThat(st.freeBlocks()).as("cached blocks are free for reuse").isEqualTo(st.totalBlocks());
        }
    }

    @Test
    void shouldGiveIdenticalOutputsWhenRequestsSharingAPrefixRunTogether() throws Exception {
        List<GenerationRequest> rs = sharedPrefix(21, 6, 1);
        // a first request primes the cache; the others arrive together and share its blocks in one batch
        List<GenerationResult> expected = new ArrayList<>();
        try (LlmEngine off = LlmEngine.local(model, config(false))) {
            expected.addAll(oneByOne(off, rs));
        }
        try (LlmEngine on = LlmEngine.local(model, config(true).withMaxBatchTokens(16))) {
            List<GenerationResult> got = new ArrayList<>(oneByOne(on, rs.subList(0, 1)));
            List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
            for (GenerationRequest r : rs.subList(1, rs.size())) {
                fs.add(on.submit(r));
            }
            on.runUntilIdle();
            for (CompletableFuture<GenerationResult> f : fs) {
                got.add(f.get());
            }
            LlmEngineTest.assertSameOutputs(got, expected);
            assertThat(on.stats().prefixCacheHits()).isEqualTo(5 * 20);
        }
    }

    @Test
    void shouldEvictLeastRecentlyUsedBlocksWhenTheCacheIsFullAndStillMatch() throws Exception {
        // 24 blocks of 4 tokens = 96 tokens of KV: the second prefix evicts part of the first
        EngineConfig tiny = config(true).withKvCacheBytes(24L * 4096);
        List<GenerationRequest> a = sharedPrefix(41, 2, 2);
        List<GenerationRequest> b = sharedPrefix(61, 1, 3);
        List<GenerationRequest> all = new ArrayList<>(a);
        all.addAll(b);
        all.addAll(a);
        List<GenerationResult> expected;
        try (LlmEngine off = LlmEngine.local(model, config(false).withKvCacheBytes(24L * 4096))) {
            expected = oneByOne(off, all);
        }
        try (LlmEngine on = LlmEngine.local(model, tiny)) {
            List<GenerationResult> got = oneByOne(on, all);
            LlmEngineTest.assertSameOutputs(got, expected);
            LlmEngine.Stats st = on.stats();
            assertThat(st.prefixCacheEvictions()).as("evictions").isPositive();
            // the second request of a hit the first one's 10 blocks; after b, a's prefix is partly evicted
            assertThat(st.prefixCacheHits()).isGreaterThanOrEqualTo(40).isLessThan(40 + 2 * 40);
        }
    }
}
