package io.stoker.runtime.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** What the CUDA tests share: the configuration under test and the kernels they run. */
public final class CudaTestSupport {
    private CudaTestSupport() {
    }

    /** The runtime's test kernels, from the classpath (the simulator was built from the same file). */
    public static CudaProgram checks() {
        return CudaProgram.fromResource(CudaTestSupport.class, "/cuda/runtime_checks.cu");
    }

    /** A small budget so tests show leaks and budget errors quickly; no kernel disk cache. */
    public static CudaDeviceConfig config() {
        return new CudaDeviceConfig(64L << 20, 0.9, null, 1L << 20);
    }

    /** Skips unless the JVM runs on the simulator (the default for tests). */
    public static void assumeSimulator() {
        assumeTrue(Cuda.isSimulated(), "runs on the CUDA simulator (stoker.cuda=sim)");
    }

    /** Skips unless the JVM runs on real CUDA with a device. */
    public static void assumeRealGpu() {
        assumeTrue(!Cuda.isSimulated() && Cuda.isAvailable(), "needs a GPU and stoker.cuda=real");
    }
}
