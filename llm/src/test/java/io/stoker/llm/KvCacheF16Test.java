package io.stoker.llm;

import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.tensor.DType;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The f16 KV cache option (half the KV memory) against the float64 reference. Tolerances: against a reference that
 * rounds K (after RoPE) and V to binary16 the same way, 1e-3 (f32 activations can land on the other side of an f16
 * rounding boundary, one f16 ulp); against the unrounded reference, 1e-2 (the rounding error of the cache itself,
 * logits of unit scale).
 */
class KvCacheF16Test {
    static EngineConfig f16() {
        return EngineConfig.defaults().withKvCacheBytes(8L << 20).withThreads(2).withKvCacheDtype(DType.F16);
    }

    @Test
    void shouldMatchTheReferenceWithKeysAndValuesRoundedToF16() {
        for (var spec : List.of(TestModels.GQA2, TestModels.QWEN)) {
            Path dir = TestModels.hf(spec, DType.F32);
            PythonReference.Result rounded = PythonReference.run(dir, LlamaReferenceTest.PROMPT, 32, "none", "f16");
            PythonReference.Result exact = PythonReference.run(dir, LlamaReferenceTest.PROMPT, 32, "none");
            LlamaReferenceTest.Run r = LlamaReferenceTest.run(dir.toString(), 32, f16());
            double a = LlamaReferenceTest.maxAbsDiff(r.logits(), rounded.logits());
            double b = LlamaReferenceTest.maxAbsDiff(r.logits(), exact.logits());
            System.out.println(spec.architecture() + " f16 KV: vs rounded reference " + a + ", vs f32 reference " + b);
            assertThat(a).as("vs reference with f16-rounded K and V").isLessThan(1e-3);
            assertThat(b).as("vs reference with f32 K and V (the cache's rounding error)").isLessThan(1e-2)
                    .isGreaterThan(a);
            LlamaReferenceTest.assertGreedy(r.greedy(), rounded);
        }
    }

    @Test
    void shouldHoldHalfTheBlocksMemoryAndStayBatchInvariant() throws Exception {
        try (LoadedModel m = ModelLoader.load(TestModels.hf(TestModels.ENGINE, DType.F32).toString())) {
            EngineConfig f32 = LlmEngineTest.config();
            EngineConfig half = f32.withKvCacheDtype(DType.F16);
            assertThat(half.kvBlocks(m.config())).isEqualTo(2 * f32.kvBlocks(m.config()));
            List<GenerationRequest> rs = LlmEngineTest.mixedRequests();
            List<GenerationResult> alone = new ArrayList<>();
            for (GenerationRequest r : rs) {
                try (LlmEngine e = LlmEngine.local(m, half)) {
                    CompletableFuture<GenerationResult> f = e.submit(r);
                    e.runUntilIdle();
                    alone.add(f.get());
                }
            }
            try (LlmEngine e = LlmEngine.local(m, half.withMaxBatchTokens(7).withMaxNumSeqs(3))) {
                List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
                for (GenerationRequest r : rs) {
                    fs.add(e.submit(r));
                }
                e.runUntilIdle();
                List<GenerationResult> together = new ArrayList<>();
                for (CompletableFuture<GenerationResult> f : fs) {
                    together.add(f.get());
                }
                LlmEngineTest.assertSameOutputs(together, alone);
            }
        }
    }
}
