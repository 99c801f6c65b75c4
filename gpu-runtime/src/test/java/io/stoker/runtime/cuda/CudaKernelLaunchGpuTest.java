package io.stoker.runtime.cuda;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/** {@link CudaKernelLaunchTest} on a real GPU (run by bin/stoker gpu-check; skipped without one). */
@Tag("gpu")
class CudaKernelLaunchGpuTest extends CudaKernelLaunchTest {
    @BeforeAll
    static void realGpu() {
        CudaTestSupport.assumeRealGpu();
    }
}
