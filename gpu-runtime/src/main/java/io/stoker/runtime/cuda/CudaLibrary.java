package io.stoker.runtime.cuda;

import java.util.List;

/** The CUDA libraries the shim binds, with the sonames tried in order. */
public enum CudaLibrary {
    DRIVER(CudaNative.LIB_DRIVER, "CUDA driver", List.of("libcuda.so.1")),
    CUBLASLT(CudaNative.LIB_CUBLASLT, "cuBLASLt", List.of("libcublasLt.so.13", "libcublasLt.so.12")),
    CUBLAS(CudaNative.LIB_CUBLAS, "cuBLAS", List.of("libcublas.so.13", "libcublas.so.12")),
    NVRTC(CudaNative.LIB_NVRTC, "NVRTC", List.of("libnvrtc.so.13", "libnvrtc.so.12")),
    NCCL(CudaNative.LIB_NCCL, "NCCL", List.of("libnccl.so.2"));

    final int id;
    private final String title;
    private final List<String> sonames;

    CudaLibrary(int id, String title, List<String> sonames) {
        this.id = id;
        this.title = title;
        this.sonames = sonames;
    }

    public String title() {
        return title;
    }

    /** @return file names to try, preferred first */
    public List<String> sonames() {
        return sonames;
    }
}
