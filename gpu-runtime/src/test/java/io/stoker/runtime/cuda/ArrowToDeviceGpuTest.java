package io.stoker.runtime.cuda;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/** {@link ArrowToDeviceTest} on a real GPU (run by bin/stoker gpu-check; skipped without one). */
@Tag("gpu")
class ArrowToDeviceGpuTest extends ArrowToDeviceTest {
    @BeforeAll
    static void realGpu() {
        CudaTestSupport.assumeRealGpu();
    }
}
