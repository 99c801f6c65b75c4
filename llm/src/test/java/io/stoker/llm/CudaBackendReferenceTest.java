package io.stoker.llm;

import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.testkit.RandomModelWriter.Spec;
import io.stoker.llm.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole CUDA backend (kernels, cuBLAS, KV cache, index uploads) in the forward pass, against the float64
 * reference ({@code reference.py}) and the CPU backend: logits at every position of a 24-token prompt in one call, then
 * 32 greedy decode calls, for the shapes {@link LlamaReferenceTest} uses (GQA 1/2/4, odd head sizes 24/16/72/32, Mistral
 * tied, Qwen2 with biases, Llama 3 rope scaling), GGUF's interleaved rotary layout, a sliding window, f16 weights and
 * bf16 weights and an f16 KV cache. On the CUDA simulator in CI ({@code stoker.cuda=sim}); on a GPU,
 * {@link CudaEngineGpuTest} checks CPU parity (this test needs Python and torch, which the GPU check does not carry).
 *
 * <p>Tolerances: f32 weights 1e-4 against the reference (as the CPU backend; measured ~3e-6) and greedy tokens equal to
 * the reference's and the CPU backend's. f16/bf16 weights: the device rounds each linear layer's input to the weight
 * type (tensor cores); against a reference that rounds the same inputs, 2e-2 for bf16 and 2e-3 for f16 (an activation
 * near a rounding boundary can round to the neighbouring value: one bf16 ulp is 2^-8 relative), and the greedy tokens
 * equal wherever the reference's top-2 margin exceeds ten times that tolerance.
 */
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SAME_THREAD) // the device is bound to the test's thread
class CudaBackendReferenceTest {
    static final int STEPS = 32;

    static EngineConfig cuda() {
        return EngineConfig.defaults().withKvCacheBytes(8L << 20).withThreads(2).withBackend("cuda");
    }

    static EngineConfig cpu() {
        return EngineConfig.defaults().withKvCacheBytes(8L << 20).withThreads(2);
    }

    static Stream<Arguments> shapes() {
        return LlamaReferenceTest.shapes();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void shouldMatchTheFloat64ReferenceAndTheCpuBackend(String name, Spec spec) {
        Path dir = TestModels.hf(spec, DType.F32);
        PythonReference.Result ref = PythonReference.run(dir, LlamaReferenceTest.PROMPT, STEPS, "none");
        LlamaReferenceTest.Run gpu = LlamaReferenceTest.run(dir.toString(), STEPS, cuda());
        LlamaReferenceTest.Run cpu = LlamaReferenceTest.run(dir.toString(), STEPS, cpu());
        double diff = LlamaReferenceTest.maxAbsDiff(gpu.logits(), ref.logits());
        System.out.println(name + " cuda f32: max |logit - reference| " + diff + ", greedy "
                + Arrays.toString(gpu.greedy()));
        assertThat(diff).as("max |logit - reference| over all positions").isLessThan(1e-4);
        LlamaReferenceTest.assertGreedy(gpu.greedy(), ref);
        assertThat(gpu.greedy()).as("greedy tokens of the CUDA backend vs the CPU backend").isEqualTo(cpu.greedy());
    }

    @Test
    void shouldRotateGgufInterleavedPairs() {
        Spec spec = TestModels.GQA2;
        PythonReference.Result ref = PythonReference.run(TestModels.hf(spec, DType.F32), LlamaReferenceTest.PROMPT,
                STEPS, "none");
        LlamaReferenceTest.Run r = LlamaReferenceTest.run(TestModels.gguf(spec, DType.F32).toString(), STEPS, cuda());
        assertThat(LlamaReferenceTest.maxAbsDiff(r.logits(), ref.logits())).isLessThan(1e-4);
        LlamaReferenceTest.assertGreedy(r.greedy(), ref);
    }

    @Test
    void shouldKeepAnF16KvCacheWithinTheCpuTolerance() {
        Path dir = TestModels.hf(TestModels.QWEN, DType.F32);
        PythonReference.Result rounded = PythonReference.run(dir, LlamaReferenceTest.PROMPT, STEPS, "none", "f16");
        LlamaReferenceTest.Run r = LlamaReferenceTest.run(dir.toString(), STEPS, cuda().withKvCacheDtype(DType.F16));
        assertThat(LlamaReferenceTest.maxAbsDiff(r.logits(), rounded.logits()))
                .as("vs the reference with K and V rounded to f16").isLessThan(1e-3);
        LlamaReferenceTest.assertGreedy(r.greedy(), rounded);
    }

    @Test
    void shouldRoundGemmInputsToHalfPrecisionWeightTypes() {
        for (DType dtype : new DType[] {DType.BF16, DType.F16}) {
            Path dir = TestModels.hf(TestModels.GQA2, dtype);
            String act = dtype == DType.BF16 ? "bf16" : "f16";
            double tol = dtype == DType.BF16 ? 2e-2 : 2e-3;
            PythonReference.Result rounded = PythonReference.run(dir, LlamaReferenceTest.PROMPT, STEPS, "none", "none",
                    act);
            PythonReference.Result exact = PythonReference.run(dir, LlamaReferenceTest.PROMPT, STEPS, "none");
            LlamaReferenceTest.Run r = LlamaReferenceTest.run(dir.toString(), STEPS, cuda());
            double a = LlamaReferenceTest.maxAbsDiff(r.logits(), rounded.logits());
            double b = LlamaReferenceTest.maxAbsDiff(r.logits(), exact.logits());
            System.out.println("cuda " + dtype + ": vs reference with " + act + " GEMM inputs " + a
                    + ", vs f32 activations " + b);
            assertThat(a).as("%s vs the reference rounding GEMM inputs to %s", dtype, act).isLessThan(tol);
            assertThat(b).as("%s: rounding the activations is what separates it from the f32-activation reference",
                    dtype).isGreaterThan(a);
            for (int i = 0; i < STEPS; i++) {
                if (rounded.margins()[i] < 10 * tol) {
                    break; // a near tie: later tokens may legitimately differ
                }
                assertThat(r.greedy()[i]).as("%s greedy token %d (reference margin %s)", dtype, i,
                        rounded.margins()[i]).isEqualTo(rounded.greedy()[i]);
            }
        }
    }
}
