package io.stoker.llm.backend.cuda;

import io.stoker.runtime.cuda.Cuda;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@link LlmKernelsTest} on a real GPU, the kernels compiled by NVRTC for its architecture (bin/stoker gpu-check). */
@Tag("gpu")
class LlmKernelsGpuTest extends LlmKernelsTest {
    @BeforeAll
    static void realGpu() {
        assumeTrue(!Cuda.isSimulated() && Cuda.isAvailable(), "needs a GPU and stoker.cuda=real");
    }
}
