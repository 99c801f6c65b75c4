package io.stoker.runtime.cuda;

import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Settings of one bound device. Immutable.
 *
 * @param memoryBudgetBytes    most device bytes the memory pool holds; 0 = {@code memoryFraction} of the memory
 *                             free when the device is opened
 * @param memoryFraction       share of free memory the pool may take when no byte budget is given, (0, 1]
 * @param kernelCacheDir       where compiled kernels are kept across runs (null = in memory only)
 * @param cublasWorkspaceBytes device workspace given to cuBLAS(Lt), taken from the pool
 */
public record CudaDeviceConfig(long memoryBudgetBytes, double memoryFraction, Path kernelCacheDir,
                               long cublasWorkspaceBytes) {
    public CudaDeviceConfig {
        if (memoryBudgetBytes < 0) {
            throw new IllegalArgumentException("memoryBudgetBytes=" + memoryBudgetBytes + " must be >= 0 (0 = a "
                    + "fraction of free memory)");
        }
        if (!(memoryFraction > 0 && memoryFraction <= 1)) {
            throw new IllegalArgumentException("memoryFraction=" + memoryFraction + " must be in (0, 1]");
        }
        if (cublasWorkspaceBytes < 0) {
            throw new IllegalArgumentException("cublasWorkspaceBytes=" + cublasWorkspaceBytes + " must be >= 0");
        }
    }

    /**
     * 90% of free memory; kernels cached in {@code stoker.cuda.kernelCache} (default
     * {@code ~/.cache/stoker/cuda-kernels}) on a real GPU and in memory on the simulator; 32 MiB cuBLAS workspace.
     */
    public static CudaDeviceConfig defaults() {
        String dir = System.getProperty("stoker.cuda.kernelCache");
        Path cache;
        if (dir != null && !dir.isBlank()) {
            cache = Paths.get(dir);
        } else if (Cuda.isSimulated()) {
            cache = null;
        } else {
            cache = Paths.get(System.getProperty("user.home", "."), ".cache", "stoker", "cuda-kernels");
        }
        return new CudaDeviceConfig(0, 0.9, cache, 32L << 20);
    }

    public CudaDeviceConfig withMemoryBudget(long bytes) {
        return new CudaDeviceConfig(bytes, memoryFraction, kernelCacheDir, cublasWorkspaceBytes);
    }

    public CudaDeviceConfig withKernelCacheDir(Path dir) {
        return new CudaDeviceConfig(memoryBudgetBytes, memoryFraction, dir, cublasWorkspaceBytes);
    }

    public CudaDeviceConfig withCublasWorkspace(long bytes) {
        return new CudaDeviceConfig(memoryBudgetBytes, memoryFraction, kernelCacheDir, bytes);
    }
}
