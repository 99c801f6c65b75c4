package io.stoker.llm;

import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.FinishReason;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.sample.TokenLogprobs;
import io.stoker.llm.tensor.DType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Continuous batching: batch invariance, chunked prefill, preemption, finish reasons, bad input. */
public class LlmEngineTest {
    static LoadedModel model;

    @BeforeAll
    static void load() {
        model = ModelLoader.load(TestModels.hf(TestModels.ENGINE, DType.F32).toString());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    public static EngineConfig config() {
        return EngineConfig.defaults().withThreads(2).withKvCacheBytes(4L << 20);
    }

    public static int[] prompt(int n, int seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = 3 + (i * 37 + seed * 101) % 380;
        }
        return p;
    }

    /** A mix of greedy and seeded sampled requests with different prompt lengths. */
    public static List<GenerationRequest> mixedRequests() {
        List<GenerationRequest> rs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            SamplingParams p = i % 2 == 0 ? SamplingParams.builder().maxTokens(12 + i).ignoreEos(true).logprobs(3).build()
                    : SamplingParams.builder().maxTokens(12 + i).temperature(0.9).topP(0.9).topK(50).minP(0.01)
                    .repetitionPenalty(1.1).presencePenalty(0.2).frequencyPenalty(0.1).seed(1000L + i)
                    .ignoreEos(true).logprobs(2).build();
            rs.add(GenerationRequest.ofIds(prompt(3 + i * 5, i), p));
        }
        return rs;
    }

    static GenerationResult alone(GenerationRequest r, EngineConfig cfg) throws Exception {
        try (LlmEngine e = LlmEngine.local(model, cfg)) {
            CompletableFuture<GenerationResult> f = e.submit(r);
            e.runUntilIdle();
            return f.get();
        }
    }

    static List<GenerationResult> together(List<GenerationRequest> rs, EngineConfig cfg, long[] preemptions)
            throws Exception {
        try (LlmEngine e = LlmEngine.local(model, cfg)) {
            List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
            for (GenerationRequest r : rs) {
                fs.add(e.submit(r));
            }
            e.runUntilIdle();
            if (preemptions != null) {
                preemptions[0] = e.stats().preemptions();
            }
            List<GenerationResult> out = new ArrayList<>();
            for (CompletableFuture<GenerationResult> f : fs) {
                out.add(f.get());
            }
            return out;
        }
    }

    public static void assertSameOutputs(List<GenerationResult> got, List<GenerationResult> expected) {
        assertThat(got).hasSameSizeAs(expected);
        for (int i = 0; i < got.size(); i++) {
            assertThat(got.get(i).tokenIds()).as("request %d tokens", i).containsExactly(expected.get(i).tokenIds());
            List<TokenLogprobs> a = got.get(i).logprobs();
            List<TokenLogprobs> b = expected.get(i).logprobs();
            assertThat(a).hasSameSizeAs(b);
            for (int t = 0; t < a.size(); t++) {
                assertThat(a.get(t).topTokens()).containsExactly(b.get(t).topTokens());
                // bit-identical: the kernels do not depend on the batch
                assertThat(a.get(t).topLogprobs()).as("request %d step %d logprobs", i, t)
                        .containsExactly(b.get(t).topLogprobs());
            }
        }
    }

    @Test
    void shouldProduceBitIdenticalOutputsAloneAndInABatch() throws Exception {
        List<GenerationRequest> rs = mixedRequests();
        List<GenerationResult> expected = new ArrayList<>();
        for (GenerationRequest r : rs) {
            expected.add(alone(r, config()));
        }
        assertSameOutputs(together(rs, config(), null), expected);
        // a different batch composition: reversed order, small steps (chunked prefill, fewer sequences per step)
        List<GenerationRequest> rev = new ArrayList<>(rs);
        java.util.Collections.reverse(rev);
        List<GenerationResult> expRev = new ArrayList<>(expected);
        java.util.Collections.reverse(expRev);
        assertSameOutputs(together(rev, config().withMaxBatchTokens(7).withMaxNumSeqs(3), null), expRev);
    }

    @Test
    void shouldProduceBitIdenticalOutputsAloneAndInABatchWithQ8AndF16Weights() throws Exception {
        LoadedModel f32 = model;
        for (DType dt : new DType[]{DType.Q8_0, DType.F16}) {
            try (LoadedModel q = ModelLoader.load(TestModels.gguf(TestModels.ENGINE, dt).toString())) {
                model = q;
                List<GenerationRequest> rs = mixedRequests();
                List<GenerationResult> expected = new ArrayList<>();
                for (GenerationRequest r : rs) {
                    expected.add(alone(r, config()));
                }
                assertSameOutputs(together(rs, config().withMaxBatchTokens(11), null), expected);
            } finally {
                model = f32;
            }
        }
    }

    @Test
    void shouldPreemptAndRecomputeWhenKvBlocksRunOut() throws Exception {
        List<GenerationRequest> rs = mixedRequests();
        List<GenerationResult> expected = together(rs, config(), null);
        // 4 layers * 2 kv heads * 16 dims * 4 tokens * 2 (K,V) * 4 bytes = 4 KiB per block; 24 blocks = 96 tokens
        EngineConfig tiny = config().withBlockSize(4).withKvCacheBytes(24L * 4096);
        long[] preemptions = new long[1];
        List<GenerationResult> got = together(rs, tiny, preemptions);
        assertThat(preemptions[0]).as("preemptions").isGreaterThan(0);
        assertThat(got.stream().mapToInt(GenerationResult::preemptions).sum()).isGreaterThan(0);
        assertSameOutputs(got, expected);
    }

    @Test
    void shouldStopAtStopTokenMaxTokensAndStopString() throws Exception {
        int[] p = prompt(6, 1);
        GenerationResult free = alone(GenerationRequest.ofIds(p, SamplingParams.builder().maxTokens(10)
                .ignoreEos(true).build()), config());
        assertThat(free.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(free.tokenIds()).hasSize(10);
        int stopAt = free.tokenIds()[4];
        int firstIdx = -1;
        for (int i = 0; i < 10; i++) {
            if (free.tokenIds()[i] == stopAt) {
                firstIdx = i;
                break;
            }
        }
        GenerationResult stopped = alone(GenerationRequest.ofIds(p, SamplingParams.builder().maxTokens(10)
                .ignoreEos(true).stopTokenIds(Set.of(stopAt)).build()), config());
        assertThat(stopped.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(stopped.tokenIds()).hasSize(firstIdx + 1).endsWith(stopAt);
        String stopText = model.tokenizer().decode(new int[]{free.tokenIds()[2]}, true);
        GenerationResult byText = alone(GenerationRequest.ofIds(p, SamplingParams.builder().maxTokens(10)
                .ignoreEos(true).stop(List.of(stopText)).build()), config());
        assertThat(byText.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(byText.text()).doesNotContain(stopText);
        assertThat(byText.tokenIds().length).isLessThanOrEqualTo(3);
    }

    @Test
    void shouldStopAtAStopStringThatSpansTwoTokensAndCutTheText() throws Exception {
        int[] p = prompt(6, 5);
        GenerationResult free = alone(GenerationRequest.ofIds(p, SamplingParams.builder().maxTokens(12)
                .ignoreEos(true).build()), config());
        int[] out = free.tokenIds();
        String a = model.tokenizer().decode(new int[]{out[5]}, true);
        String b = model.tokenizer().decode(new int[]{out[6]}, true);
        assertThat(a).isNotEmpty();
        assertThat(b).isNotEmpty();
        String stop = a.substring(a.length() - 1) + b.charAt(0);
        // the first output prefix whose text contains the stop string ends the request
        int n = 0;
        String text;
        do {
            n++;
            text = model.tokenizer().decode(java.util.Arrays.copyOf(out, n), true);
        } while (!text.contains(stop));
        assertThat(n).as("stop string complete only with token 6 or earlier").isLessThanOrEqualTo(7);
        GenerationResult byText = alone(GenerationRequest.ofIds(p, SamplingParams.builder().maxTokens(12)
                .ignoreEos(true).stop(List.of("\u0000never", stop)).build()), config());
        assertThat(byText.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(byText.tokenIds()).containsExactly(java.util.Arrays.copyOf(out, n));
        assertThat(byText.text()).isEqualTo(text.substring(0, text.indexOf(stop)));
    }

    @Test
    void shouldReproduceSeededSamplingAndDifferAcrossSeeds() throws Exception {
        int[] p = prompt(5, 2);
        SamplingParams.Builder b = SamplingParams.builder().maxTokens(16).temperature(1.5).ignoreEos(true);
        GenerationResult a1 = alone(GenerationRequest.ofIds(p, b.seed(7L).build()), config());
        GenerationResult a2 = alone(GenerationRequest.ofIds(p, b.seed(7L).build()), config());
        GenerationResult other = alone(GenerationRequest.ofIds(p, b.seed(8L).build()), config());
        assertThat(a1.tokenIds()).containsExactly(a2.tokenIds());
        assertThat(other.tokenIds()).isNotEqualTo(a1.tokenIds());
    }

    @Test
    void shouldRejectPromptLongerThanContext() {
        try (LlmEngine e = LlmEngine.local(model, config().withMaxModelLen(32))) {
            assertThatThrownBy(() -> e.submit(GenerationRequest.ofIds(prompt(40, 0), SamplingParams.greedy(4))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("prompt has 40 tokens but the context length is 32");
            assertThatThrownBy(() -> e.submit(GenerationRequest.ofIds(new int[]{1, 384}, SamplingParams.greedy(4))))
                    .hasMessageContaining("token id 384 is outside the vocabulary");
            assertThatThrownBy(() -> e.submit(GenerationRequest.ofIds(new int[0], SamplingParams.greedy(4))))
                    .hasMessageContaining("prompt is empty");
        }
    }

    @Test
    void shouldRejectPromptLargerThanKvBudget() {
        try (LlmEngine e = LlmEngine.local(model, config().withBlockSize(4).withKvCacheBytes(4L * 4096))) {
            assertThatThrownBy(() -> e.submit(GenerationRequest.ofIds(prompt(20, 0), SamplingParams.greedy(4))))
                    .hasMessageContaining("KV cache holds 16");
        }
    }

    @Test
    void shouldFailPendingRequestsWhenClosed() {
        CompletableFuture<GenerationResult> running;
        CompletableFuture<GenerationResult> queued;
        try (LlmEngine e = LlmEngine.local(model, config())) {
            running = e.submit(GenerationRequest.ofIds(prompt(4, 0), SamplingParams.builder().maxTokens(50)
                    .ignoreEos(true).build()));
            e.step();
            queued = e.submit(GenerationRequest.ofIds(prompt(4, 1), SamplingParams.greedy(5)));
        }
        assertThat(running).isCompletedExceptionally();
        assertThat(queued).isCompletedExceptionally();
    }

    @Test
    void shouldStopAtContextLength() throws Exception {
        GenerationResult r = alone(GenerationRequest.ofIds(prompt(10, 3), SamplingParams.builder().maxTokens(100)
                .ignoreEos(true).build()), config().withMaxModelLen(16));
        assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(r.tokenIds()).hasSize(6);
    }

    @Test
    void shouldRejectInvalidSamplingValuesNamingTheField() {
        assertThatThrownBy(() -> SamplingParams.builder().temperature(-0.5).build()).hasMessage(
                "temperature=-0.5 must be >= 0");
        assertThatThrownBy(() -> SamplingParams.builder().topP(0).build()).hasMessageContaining("top_p=0.0");
        assertThatThrownBy(() -> SamplingParams.builder().topP(1.5).build()).hasMessageContaining("top_p=1.5");
        assertThatThrownBy(() -> SamplingParams.builder().topK(-1).build()).hasMessageContaining("top_k=-1");
        assertThatThrownBy(() -> SamplingParams.builder().minP(2).build()).hasMessageContaining("min_p=2.0");
        assertThatThrownBy(() -> SamplingParams.builder().repetitionPenalty(0).build())
                .hasMessageContaining("repetition_penalty=0.0");
        assertThatThrownBy(() -> SamplingParams.builder().presencePenalty(3).build())
                .hasMessageContaining("presence_penalty=3.0");
        assertThatThrownBy(() -> SamplingParams.builder().frequencyPenalty(-3).build())
                .hasMessageContaining("frequency_penalty=-3.0");
        assertThatThrownBy(() -> SamplingParams.builder().maxTokens(0).build()).hasMessageContaining("max_tokens=0");
        assertThatThrownBy(() -> SamplingParams.builder().logprobs(21).build()).hasMessageContaining("logprobs=21");
        assertThatThrownBy(() -> SamplingParams.builder().stop(List.of("")).build())
                .hasMessageContaining("stop strings must not be empty");
    }

    @Test
    void shouldReportLogprobsThatAreNormalisedAndSortedBestFirst() throws Exception {
        GenerationResult r = alone(GenerationRequest.ofIds(prompt(4, 4), SamplingParams.builder().maxTokens(3)
                .logprobs(5).ignoreEos(true).build()), config());
        assertThat(r.logprobs()).hasSize(3);
        for (int i = 0; i < 3; i++) {
            TokenLogprobs t = r.logprobs().get(i);
            assertThat(t.topTokens()[0]).as("greedy picks the best").isEqualTo(r.tokenIds()[i]);
            for (int k = 1; k < 5; k++) {
                assertThat(t.topLogprobs()[k]).isLessThanOrEqualTo(t.topLogprobs()[k - 1]);
            }
            assertThat(t.topLogprobs()[0]).isLessThan(0f);
        }
    }
}
