package io.stoker.llm;

import io.stoker.runtime.cuda.Cuda;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link CudaEngineTest} on a real GPU (bin/stoker gpu-check): the engine's tokens and logprobs against the CPU
 * engine, kernels compiled by NVRTC and GEMMs by cuBLAS. Batch invariance there depends on cuBLAS choosing the same
 * algorithm for different token counts; a failure of that test on a GPU says it does not.
 */
@Tag("gpu")
class CudaEngineGpuTest extends CudaEngineTest {
    @BeforeAll
    static void realGpu() {
        assumeTrue(!Cuda.isSimulated() && Cuda.isAvailable(), "needs a GPU and stoker.cuda=real");
    }
}
