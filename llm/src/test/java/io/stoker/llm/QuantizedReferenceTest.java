package io.stoker.llm;

import io.stoker.llm.tensor.DType;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * F16, BF16 and Q8_0 weights against the float64 reference. Two checks each: against a reference that rounds the
 * weights the same way (tight: only the f32 activations differ), and against the unrounded f32 reference (the
 * quantization error itself; stated tolerance).
 */
class QuantizedReferenceTest {
    static final int[] PROMPT = LlamaReferenceTest.PROMPT;

    private static double[] diffs(Path hf, String location, String quant) {
        PythonReference.Result same = PythonReference.run(hf, PROMPT, 32, quant);
        PythonReference.Result exact = PythonReference.run(hf, PROMPT, 32, "none");
        LlamaReferenceTest.Run r = LlamaReferenceTest.run(location, 0);
        double a = LlamaReferenceTest.maxAbsDiff(r.logits(), same.logits());
        double b = LlamaReferenceTest.maxAbsDiff(r.logits(), exact.logits());
        System.out.println(location + " vs rounded reference " + a + ", vs f32 reference " + b);
        return new double[]{a, b};
    }

    @Test
    void shouldMatchReferenceForGgufF16() {
        Path hf = TestModels.hf(TestModels.QWEN, DType.F32);
        double[] d = diffs(hf, TestModels.gguf(TestModels.QWEN, DType.F16).toString(), "f16");
        assertThat(d[0]).as("vs reference with f16-rounded weights").isLessThan(1e-4);
        assertThat(d[1]).as("vs f32 reference (f16 rounding error)").isLessThan(2e-2);
    }

    @Test
    void shouldMatchReferenceForGgufQ8() {
        Path hf = TestModels.hf(TestModels.GQA1, DType.F32);
        double[] d = diffs(hf, TestModels.gguf(TestModels.GQA1, DType.Q8_0).toString(), "q8_0");
        assertThat(d[0]).as("vs reference with q8_0-rounded weights").isLessThan(1e-4);
        assertThat(d[1]).as("vs f32 reference (q8_0 rounding error; logits have unit scale)").isLessThan(0.2);
    }

    @Test
    void shouldMatchReferenceForGgufQ8WithLlama3Rope() {
        Path hf = TestModels.hf(TestModels.LLAMA3, DType.F32);
        double[] d = diffs(hf, TestModels.gguf(TestModels.LLAMA3, DType.Q8_0).toString(), "q8_0");
        assertThat(d[0]).isLessThan(1e-4);
        assertThat(d[1]).isLessThan(0.2);
    }

    @Test
    void shouldMatchReferenceForSafetensorsF16AndBf16() {
        // the reference reads the same f16/bf16 file, so these are exact-weight comparisons
        Path f16 = TestModels.hf(TestModels.GQA2, DType.F16);
        PythonReference.Result r16 = PythonReference.run(f16, PROMPT, 32, "none");
        LlamaReferenceTest.Run j16 = LlamaReferenceTest.run(f16.toString(), 32);
        assertThat(LlamaReferenceTest.maxAbsDiff(j16.logits(), r16.logits())).isLessThan(1e-4);
        LlamaReferenceTest.assertGreedy(j16.greedy(), r16);
        Path bf16 = TestModels.hf(TestModels.GQA2, DType.BF16);
        PythonReference.Result rb = PythonReference.run(bf16, PROMPT, 32, "none");
        LlamaReferenceTest.Run jb = LlamaReferenceTest.run(bf16.toString(), 32);
        assertThat(LlamaReferenceTest.maxAbsDiff(jb.logits(), rb.logits())).isLessThan(1e-4);
        LlamaReferenceTest.assertGreedy(jb.greedy(), rb);
    }
}
