package io.stoker.runtime.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * GEMMs through the shim against a float64 reference, at odd shapes. Tolerances: f32 inputs 1e-5 relative to the
 * row's magnitude (f32 accumulation over k = 37); bf16 inputs are rounded to bf16 in the reference too, so the only
 * difference left is f32 accumulation (same bound); bf16 output adds bf16 rounding (2^-8 relative).
 */
@Timeout(60)
class CublasTest {
    private static final int M = 7;  // output features
    private static final int N = 5;  // tokens
    private static final int K = 37; // input features

    private static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    /** out[t][o] = sum_i x[t][i] w[o][i] in float64. */
    private static double[] linearReference(float[] x, float[] w, int tokens, int in, int out) {
        double[] y = new double[tokens * out];
        for (int t = 0; t < tokens; t++) {
            for (int o = 0; o < out; o++) {
                double s = 0;
                for (int i = 0; i < in; i++) {
                    s += (double) x[t * in + i] * w[o * in + i];
                }
                y[t * out + o] = s;
            }
        }
        return y;
    }

    private static void assertClose(float[] got, double[] want, double relTol, String what) {
        double scale = 0;
        for (double v : want) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < want.length; i++) {
            assertThat(Math.abs(got[i] - want[i])).as("%s[%d]: got %s want %s", what, i, got[i], want[i])
                    .isLessThanOrEqualTo(relTol * Math.max(1, scale));
        }
    }

    static short bf16(float f) {
        int u = Float.floatToRawIntBits(f);
        u += 0x7fff + ((u >>> 16) & 1);
        return (short) (u >>> 16);
    }

    static float fromBf16(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }

    @Test
    void shouldComputeAnF32LinearLayerLikeTheCpuEngine() {
        float[] x = random(N * K, 1);
        float[] w = random(M * K, 2);
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config());
             DeviceBuffer dx = d.allocate(4L * x.length, "x"); DeviceBuffer dw = d.allocate(4L * w.length, "w");
             DeviceBuffer out = d.allocate(4L * N * M, "out")) {
            dx.copyFrom(x);
            dw.copyFrom(w);
            d.cublas().linear(d.stream(), out, CudaDataType.F32, dx, dw, CudaDataType.F32, N, K, M);
            float[] got = new float[N * M];
            out.copyTo(got);
            assertClose(got, linearReference(x, w, N, K, M), 1e-5, "f32 linear");
        }
    }

    @Test
    void shouldComputeABf16GemmWithF32AccumulationAndBf16Output() {
        float[] x = random(N * K, 3);
        float[] w = random(M * K, 4);
        short[] xb = new short[x.length];
        short[] wb = new short[w.length];
        for (int i = 0; i < x.length; i++) {
            xb[i] = bf16(x[i]);
            x[i] = fromBf16(xb[i]);
        }
        for (int i = 0; i < w.length; i++) {
            wb[i] = bf16(w[i]);
            w[i] = fromBf16(wb[i]);
        }
        double[] want = linearReference(x, w, N, K, M);
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config());
             DeviceBuffer dx = d.allocate(2L * x.length, "x"); DeviceBuffer dw = d.allocate(2L * w.length, "w");
             DeviceBuffer out = d.allocate(4L * N * M, "out"); DeviceBuffer outB = d.allocate(2L * N * M, "outB")) {
            dx.copyFrom(xb);
            dw.copyFrom(wb);
            d.cublas().linear(d.stream(), out, CudaDataType.F32, dx, dw, CudaDataType.BF16, N, K, M);
            float[] got = new float[N * M];
            out.copyTo(got);
            assertClose(got, want, 1e-5, "bf16 in, f32 out");
            d.cublas().linear(d.stream(), outB, CudaDataType.BF16, dx, dw, CudaDataType.BF16, N, K, M);
            short[] gotB = new short[N * M];
            outB.copyTo(gotB);
            float[] widened = new float[gotB.length];
            for (int i = 0; i < gotB.length; i++) {
                widened[i] = fromBf16(gotB[i]);
            }
            assertClose(widened, want, 1.0 / 128, "bf16 in, bf16 out");
        }
    }

    @Test
    void shouldMatchThroughCublasLtAndStridedBatches() {
        float[] a = random(M * K * 3, 5); // 3 matrices, each column-major M x K
        float[] b = random(K * N * 3, 6); // 3 matrices, each column-major K x N
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config());
             DeviceBuffer da = d.allocate(4L * a.length, "a"); DeviceBuffer db = d.allocate(4L * b.length, "b");
             DeviceBuffer c = d.allocate(4L * M * N * 3, "c"); DeviceBuffer lt = d.allocate(4L * M * N, "lt")) {
            da.copyFrom(a);
            db.copyFrom(b);
            Cublas blas = d.cublas();
            assertThat(blas.version()).isGreaterThanOrEqualTo(120000);
            blas.gemmStridedBatched(d.stream(), false, false, M, N, K, 2f, da, CudaDataType.F32, M, (long) M * K, db,
                    CudaDataType.F32, K, (long) K * N, 0f, c, CudaDataType.F32, M, (long) M * N, 3);
            blas.matmulLt(d.stream(), false, false, M, N, K, 1f, da, CudaDataType.F32, M, db, CudaDataType.F32, K, 0f,
                    lt, CudaDataType.F32, M);
            float[] got = new float[M * N * 3];
            float[] gotLt = new float[M * N];
            c.copyTo(got);
            lt.copyTo(gotLt);
            for (int s = 0; s < 3; s++) {
                double[] want = new double[M * N];
                for (int j = 0; j < N; j++) {
                    for (int i = 0; i < M; i++) {
                        double sum = 0;
                        for (int l = 0; l < K; l++) {
                            sum += (double) a[s * M * K + i + l * M] * b[s * K * N + l + j * K];
                        }
                        want[i + j * M] = 2 * sum;
                    }
                }
                float[] slice = java.util.Arrays.copyOfRange(got, s * M * N, (s + 1) * M * N);
                assertClose(slice, want, 1e-5, "batch " + s);
                if (s == 0) {
                    double[] half = new double[want.length];
                    for (int i = 0; i < want.length; i++) {
                        half[i] = want[i] / 2;
                    }
                    assertClose(gotLt, half, 1e-5, "cublasLt");
                }
            }
        }
    }

    @Test
    void shouldNameTheCallAndStatusOfABadGemm() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config()); DeviceBuffer b = d.allocate(4096, "b")) {
            assertThatThrownBy(() -> d.cublas().gemm(d.stream(), false, false, 4, 4, 4, 1f, b, CudaDataType.F32, 2, b,
                    CudaDataType.F32, 4, 0f, b, CudaDataType.F32, 4))
                    .isInstanceOf(CudaException.class).hasMessageContaining("cublasGemmEx")
                    .hasMessageContaining("CUBLAS_STATUS_INVALID_VALUE");
        }
    }
}
