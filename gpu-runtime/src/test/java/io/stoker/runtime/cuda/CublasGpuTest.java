package io.stoker.runtime.cuda;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/** {@link CublasTest} on a real GPU (run by bin/stoker gpu-check; skipped without one). */
@Tag("gpu")
class CublasGpuTest extends CublasTest {
    @BeforeAll
    static void realGpu() {
        CudaTestSupport.assumeRealGpu();
    }
}
