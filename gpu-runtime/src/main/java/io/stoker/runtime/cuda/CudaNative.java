package io.stoker.runtime.cuda;

import java.nio.ByteBuffer;

/**
 * The JNI shim ({@code src/main/c/stoker_cuda.c}). Loading this class loads {@code libstoker-cuda.so}; nothing
 * else in Stoker refers to it, so a JVM that never asks for a GPU never loads native code.
 *
 * <p>Every method throws {@link CudaException} (naming the call and error) when the CUDA call fails, and
 * {@link CudaLibraryException} when the library or symbol it needs is not loaded. Handles and device pointers are
 * passed as {@code long}.
 */
final class CudaNative {
    static final int LIB_DRIVER = 0;
    static final int LIB_CUBLASLT = 1;
    static final int LIB_CUBLAS = 2;
    static final int LIB_NVRTC = 3;
    static final int LIB_NCCL = 4;

    static {
        NativeLoader.load();
    }

    private CudaNative() {
    }

    // ---- loading
    static native String openLibrary(int lib, String[] candidates);

    static native String probeLibrary(int lib, String[] candidates);

    static native void preload(String path);

    static native boolean isLoaded(int lib);

    static native void simSetOption(String key, String value);

    static native void simLoadKernels(String path);

    static native int sizeOfIpcMemHandle();

    static native int sizeOfNcclUniqueId();

    // ---- driver
    static native void init();

    static native int driverVersion();

    static native int deviceCount();

    static native int deviceGet(int ordinal);

    static native String deviceName(int dev);

    static native int deviceAttribute(int attr, int dev);

    static native long deviceTotalMem(int dev);

    static native long primaryCtxRetain(int dev);

    static native void primaryCtxRelease(int dev);

    static native void ctxSetCurrent(long ctx);

    static native long ctxGetCurrent();

    static native void ctxSynchronize();

    /** out[0] = free bytes, out[1] = total bytes of the current context's device */
    static native void memGetInfo(long[] out);

    static native long memAlloc(long bytes);

    static native void memFree(long ptr);

    static native long memHostAlloc(long bytes, int flags);

    static native void memFreeHost(long ptr);

    static native ByteBuffer directBuffer(long address, long bytes);

    static native long directBufferAddress(ByteBuffer buffer);

    static native void memcpyHtoDArray(long dst, Object array, long byteOffset, long bytes);

    static native void memcpyDtoHArray(Object array, long byteOffset, long src, long bytes);

    static native void memcpyHtoDAsync(long dst, long src, long bytes, long stream);

    static native void memcpyDtoHAsync(long dst, long src, long bytes, long stream);

    static native void memcpyDtoDAsync(long dst, long src, long bytes, long stream);

    static native void memcpyPeerAsync(long dst, long dstContext, long src, long srcContext, long bytes, long stream);

    /** @return true when this context can now reach {@code peerContext}'s memory directly */
    static native boolean ctxEnablePeerAccess(long peerContext);

    static native void memsetD8Async(long dst, int value, long count, long stream);

    static native void memsetD32Async(long dst, int value, long count, long stream);

    static native long streamCreate(int flags);

    static native void streamDestroy(long stream);

    static native void streamSynchronize(long stream);

    static native boolean streamQuery(long stream);

    static native void streamWaitEvent(long stream, long event);

    static native long eventCreate(int flags);

    static native void eventDestroy(long event);

    static native void eventRecord(long event, long stream);

    static native void eventSynchronize(long event);

    static native boolean eventQuery(long event);

    static native float eventElapsedTime(long start, long end);

    static native long moduleLoadData(byte[] image);

    static native void moduleUnload(long module);

    static native long moduleGetFunction(long module, String name);

    static native int funcGetAttribute(int attr, long function);

    static native void funcSetAttribute(long function, int attr, int value);

    /** @return the byte size of each kernel parameter, or null when the driver cannot tell */
    static native long[] funcParamSizes(long function);

    static native void launchKernel(long function, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes,
                                    long stream, long args, int argCount);

    static native byte[] ipcGetMemHandle(long ptr);

    static native long ipcOpenMemHandle(byte[] handle);

    static native void ipcCloseMemHandle(long ptr);

    // ---- cuBLAS / cuBLASLt
    static native long cublasCreate();

    static native void cublasDestroy(long handle);

    static native int cublasVersion(long handle);

    static native void cublasSetStream(long handle, long stream);

    static native void cublasSetWorkspace(long handle, long ptr, long bytes);

    static native void cublasGemmEx(long handle, int transA, int transB, int m, int n, int k, float alpha, long a,
                                    int aType, int lda, long b, int bType, int ldb, float beta, long c, int cType,
                                    int ldc, int computeType, int algo);

    static native void cublasGemmStridedBatchedEx(long handle, int transA, int transB, int m, int n, int k,
                                                  float alpha, long a, int aType, int lda, long strideA, long b,
                                                  int bType, int ldb, long strideB, float beta, long c, int cType,
                                                  int ldc, long strideC, int batch, int computeType, int algo);

    static native long cublasLtCreate();

    static native void cublasLtDestroy(long handle);

    static native void cublasLtMatmul(long handle, int transA, int transB, long m, long n, long k, float alpha, long a,
                                      int aType, long lda, long b, int bType, long ldb, float beta, long c, long d,
                                      int cType, long ldc, int computeType, long workspace, long workspaceBytes,
                                      long stream);

    // ---- NVRTC
    static native int[] nvrtcVersion();

    static native int[] nvrtcSupportedArchs();

    /** @return {byte[] image, String log} */
    static native Object[] nvrtcCompile(String name, String source, String[] headerNames, String[] headerSources,
                                        String[] options, boolean cubin);

    // ---- NCCL (issue 13 builds on these)
    static native int ncclVersion();

    static native byte[] ncclGetUniqueId();

    static native long ncclCommInitRank(int nranks, byte[] uniqueId, int rank);

    static native void ncclCommDestroy(long comm);

    static native void ncclCommAbort(long comm);

    static native int ncclCommCount(long comm);

    static native int ncclCommUserRank(long comm);

    static native int ncclCommGetAsyncError(long comm);

    static native void ncclAllReduce(long send, long recv, long count, int type, int op, long comm, long stream);

    static native void ncclAllGather(long send, long recv, long sendCount, int type, long comm, long stream);

    static native void ncclReduceScatter(long send, long recv, long recvCount, int type, int op, long comm,
                                         long stream);

    static native void ncclBroadcast(long send, long recv, long count, int type, int root, long comm, long stream);

    static native void ncclSend(long send, long count, int type, int peer, long comm, long stream);

    static native void ncclRecv(long recv, long count, int type, int peer, long comm, long stream);

    static native void ncclGroupStart();

    static native void ncclGroupEnd();
}
