package io.stoker.runtime.cuda;

/**
 * cuBLAS and cuBLASLt on one device: GEMMs with f32 accumulation over f32, f16 or bf16 matrices, in cuBLAS's
 * column-major convention, plus {@link #linear}, the row-major product of a linear layer. Work goes on the stream
 * passed to each call. A workspace of the configured size comes from the device's memory pool.
 *
 * <p>Thread-safety: owner thread of the device only.
 */
public final class Cublas implements AutoCloseable {
    /** {@code CUBLAS_COMPUTE_32F} */
    public static final int COMPUTE_32F = 68;
    private static final int GEMM_DEFAULT = -1;

    private final CudaDevice device;
    private final long handle;
    private final DeviceBuffer workspace;
    private long lt;
    private long stream;
    private boolean closed;

    Cublas(CudaDevice device, long workspaceBytes) {
        Cuda.load(CudaLibrary.CUBLAS);
        this.device = device;
        this.handle = CudaNative.cublasCreate();
        DeviceBuffer ws = null;
        try {
            if (workspaceBytes > 0) {
                ws = device.allocate(workspaceBytes, "cublas-workspace");
                CudaNative.cublasSetWorkspace(handle, ws.address(), ws.bytes());
            }
        } catch (RuntimeException e) {
            if (ws != null) {
                ws.close();
            }
            CudaNative.cublasDestroy(handle);
            throw e;
        }
        this.workspace = ws;
    }

    /** @return cuBLAS's version, e.g. 130000 */
    public int version() {
        return CudaNative.cublasVersion(handle);
    }

    private void on(CudaStream s) {
        device.checkThread();
        if (closed) {
            throw new IllegalStateException("cuBLAS handle is closed");
        }
        if (s.handle() != stream) {
            CudaNative.cublasSetStream(handle, s.handle());
            stream = s.handle();
        }
    }

    /**
     * {@code C = alpha * op(A) op(B) + beta * C}, column-major (cublasGemmEx, f32 compute). A and B share a type;
     * C is f32 or A's type.
     */
    public void gemm(CudaStream s, boolean transA, boolean transB, int m, int n, int k, float alpha, DeviceBuffer a,
                     CudaDataType aType, int lda, DeviceBuffer b, CudaDataType bType, int ldb, float beta,
                     DeviceBuffer c, CudaDataType cType, int ldc) {
        on(s);
        CudaNative.cublasGemmEx(handle, transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a.address(), aType.code(), lda,
                b.address(), bType.code(), ldb, beta, c.address(), cType.code(), ldc, COMPUTE_32F, GEMM_DEFAULT);
    }

    /** {@link #gemm} over {@code batch} matrices {@code stride} elements apart (cublasGemmStridedBatchedEx). */
    public void gemmStridedBatched(CudaStream s, boolean transA, boolean transB, int m, int n, int k, float alpha,
                                   DeviceBuffer a, CudaDataType aType, int lda, long strideA, DeviceBuffer b,
                                   CudaDataType bType, int ldb, long strideB, float beta, DeviceBuffer c,
                                   CudaDataType cType, int ldc, long strideC, int batch) {
        on(s);
        CudaNative.cublasGemmStridedBatchedEx(handle, transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a.address(),
                aType.code(), lda, strideA, b.address(), bType.code(), ldb, strideB, beta, c.address(), cType.code(),
                ldc, strideC, batch, COMPUTE_32F, GEMM_DEFAULT);
    }

    /** {@code C = alpha * op(A) op(B) + beta * C} through cuBLASLt (column-major, f32 compute and scale). */
    public void matmulLt(CudaStream s, boolean transA, boolean transB, long m, long n, long k, float alpha,
                         DeviceBuffer a, CudaDataType aType, long lda, DeviceBuffer b, CudaDataType bType, long ldb,
                         float beta, DeviceBuffer c, CudaDataType cType, long ldc) {
        on(s);
        if (lt == 0) {
            lt = CudaNative.cublasLtCreate();
        }
        CudaNative.cublasLtMatmul(lt, transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a.address(), aType.code(), lda,
                b.address(), bType.code(), ldb, beta, c.address(), c.address(), cType.code(), ldc, COMPUTE_32F,
                workspace == null ? 0 : workspace.address(), workspace == null ? 0 : workspace.bytes(), s.handle());
    }

    /**
     * A linear layer, row-major like the CPU engine: {@code out[t][o] = sum_i x[t][i] * w[o][i]} for
     * {@code tokens} rows of {@code x (tokens x in)} and weights {@code w (outFeatures x in)}. As cuBLAS sees it
     * (column-major), {@code out^T = W^T^T x^T}: {@code op(A) = T} on w (lda = in), {@code op(B) = N} on x.
     *
     * @param xType  type of x and w (both the same: f32, f16 or bf16)
     * @param outType f32 or xType
     */
    public void linear(CudaStream s, DeviceBuffer out, CudaDataType outType, DeviceBuffer x, DeviceBuffer w,
                       CudaDataType xType, int tokens, int in, int outFeatures) {
        gemm(s, true, false, outFeatures, tokens, in, 1f, w, xType, in, x, xType, in, 0f, out, outType, outFeatures);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        device.checkThread();
        closed = true;
        device.untrack(this);
        if (lt != 0) {
            CudaNative.cublasLtDestroy(lt);
        }
        CudaNative.cublasDestroy(handle);
        if (workspace != null) {
            workspace.close();
        }
    }
}
