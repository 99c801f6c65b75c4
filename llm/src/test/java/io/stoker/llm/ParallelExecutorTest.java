package io.stoker.llm;

import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.batch.LocalExecutor;
import io.stoker.llm.batch.ModelExecutor;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.parallel.ParallelExecutor;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.tensor.DType;
import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.StokerRuntime;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/** TP=2 and PP=2 as compiled graphs over CPU actors match the single-instance model (TP=1). */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ParallelExecutorTest {
    StokerRuntime rt;

    @BeforeEach
    void start() {
        rt = StokerRuntime.create(RuntimeConfig.defaults().withName("llm-parallel-test"));
    }

    @AfterEach
    void stop() {
        rt.close();
        assertThat(rt.actors()).as("actors left behind").isEmpty();
    }

    static EngineConfig cfg() {
        return EngineConfig.defaults().withThreads(2).withKvCacheBytes(4L << 20);
    }

    /** Logits at every position of a prompt, run in two chunks (so the second reads KV written by the first). */
    static float[][] promptLogits(ModelExecutor ex, int vocab, int[] prompt) {
        int[] table = {3, 1, 2, 0, 4, 5};
        int half = prompt.length / 2;
        float[] a = ex.logits(ForwardBatch.single(Arrays.copyOf(prompt, half), 0, table, true)).clone();
        float[] b = ex.logits(ForwardBatch.single(Arrays.copyOfRange(prompt, half, prompt.length), half, table, true));
        float[][] out = new float[prompt.length][];
        for (int t = 0; t < prompt.length; t++) {
            float[] src = t < half ? a : b;
            int row = t < half ? t : t - half;
            out[t] = Arrays.copyOfRange(src, row * vocab, (row + 1) * vocab);
        }
        return out;
    }

    static double maxDiff(float[][] x, float[][] y) {
        double m = 0;
        for (int t = 0; t < x.length; t++) {
            for (int i = 0; i < x[t].length; i++) {
                m = Math.max(m, Math.abs(x[t][i] - y[t][i]));
            }
        }
        return m;
    }

    private List<GenerationResult> generate(LoadedModel m, ModelExecutor ex) throws Exception {
        try (LlmEngine e = new LlmEngine(m, ex, cfg())) {
            List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                fs.add(e.submit(GenerationRequest.ofIds(LlmEngineTest.prompt(5 + 7 * i, i),
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

    private void assertMatchesSingleInstance(Path model, Function<LoadedModel, ModelExecutor> parallel,
                                             double tolerance) throws Exception {
        int[] prompt = LlamaReferenceTest.PROMPT;
        try (LoadedModel m = ModelLoader.load(model.toString())) {
            int vocab = m.config().vocabSize();
            float[][] local;
            try (LocalExecutor ex = new LocalExecutor(m, cfg())) {
                local = promptLogits(ex, vocab, prompt);
            }
            float[][] par;
            try (ModelExecutor ex = parallel.apply(m)) {
                par = promptLogits(ex, vocab, prompt);
            }
            assertThat(maxDiff(par, local)).as("max |parallel - single| logit").isLessThanOrEqualTo(tolerance);
            List<GenerationResult> a = generate(m, new LocalExecutor(m, cfg()));
            List<GenerationResult> b = generate(m, parallel.apply(m));
            for (int i = 0; i < a.size(); i++) {
                assertThat(b.get(i).tokenIds()).as("greedy tokens of request %d", i)
                        .containsExactly(a.get(i).tokenIds());
            }
        }
    }

    @Test
    void shouldMatchSingleInstanceWithTensorParallelism2() throws Exception {
        assertMatchesSingleInstance(TestModels.hf(TestModels.ENGINE, DType.F32),
                m -> ParallelExecutor.tensorParallel(rt, m, cfg(), 2), 1e-5);
    }

    @Test
    void shouldMatchSingleInstanceWithTensorParallelism2OnQ8Weights() throws Exception {
        assertMatchesSingleInstance(TestModels.gguf(TestModels.ENGINE, DType.Q8_0),
                m -> ParallelExecutor.tensorParallel(rt, m, cfg(), 2), 1e-5);
    }

    @Test
    void shouldMatchSingleInstanceBitForBitWithPipelineParallelism2() throws Exception {
        assertMatchesSingleInstance(TestModels.hf(TestModels.ENGINE, DType.F32),
                m -> ParallelExecutor.pipelineParallel(rt, m, cfg(), 2), 0.0);
    }

    @Test
    void shouldMatchFloat64ReferenceWithTensorParallelism2AndQkvBias() {
        Path dir = TestModels.hf(TestModels.QWEN, DType.F32);
        PythonReference.Result ref = PythonReference.run(dir, LlamaReferenceTest.PROMPT, 32, "none");
        try (LoadedModel m = ModelLoader.load(dir.toString());
             ModelExecutor ex = ParallelExecutor.tensorParallel(rt, m, cfg(), 2)) {
            float[][] got = promptLogits(ex, m.config().vocabSize(), LlamaReferenceTest.PROMPT);
            assertThat(LlamaReferenceTest.maxAbsDiff(got, ref.logits())).isLessThan(1e-4);
        }
    }

    @Test
    void shouldRejectTensorParallelSizeThatDoesNotDivideHeads() {
        try (LoadedModel m = ModelLoader.load(TestModels.hf(TestModels.ENGINE, DType.F32).toString())) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> ParallelExecutor.tensorParallel(rt, m, cfg(), 3))
                    .hasMessageContaining("tensor-parallel size 3 must divide num_attention_heads=4");
        }
    }
}
