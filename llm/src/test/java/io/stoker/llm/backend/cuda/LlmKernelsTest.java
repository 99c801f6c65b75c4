package io.stoker.llm.backend.cuda;

import io.stoker.llm.kv.KvCacheDescriptor;
import io.stoker.llm.load.RandomTensor;
import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.MappedTensor;
import io.stoker.runtime.cuda.CudaDataType;
import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaDeviceConfig;
import io.stoker.runtime.cuda.CudaStream;
import io.stoker.runtime.cuda.DeviceBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The LLM kernels against scalar float64 references at small, odd shapes (n = 37, 7 rows, 5 tokens, head dim 20,
 * block size 4, scrambled block tables). On the CUDA simulator by default; {@link LlmKernelsGpuTest} runs the same
 * on a GPU with the kernels compiled by NVRTC.
 *
 * <p>Tolerances: f32 kernels 1e-5 relative to the largest reference value (f32 arithmetic against f64); RoPE 2e-6
 * absolute (the same f64 angles, f32 rotation); conversions and data movement exact; the sampler picks exactly
 * the reference's token.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SAME_THREAD) // the device is bound to the test's thread
class LlmKernelsTest {
    CudaDevice device;
    LlmKernels kernels;
    CudaStream stream;
    final List<DeviceBuffer> buffers = new ArrayList<>();

    static CudaDeviceConfig config() {
        return new CudaDeviceConfig(256L << 20, 0.9, Paths.get("target", "cuda-kernel-cache"), 1L << 20);
    }

    @BeforeEach
    void open() {
        device = CudaDevice.open(0, config());
        kernels = new LlmKernels(device);
        stream = device.stream();
    }

    @AfterEach
    void close() {
        for (DeviceBuffer b : buffers) {
            b.close();
        }
        device.close();
    }

    DeviceBuffer up(float[] v) {
        DeviceBuffer b = alloc(4L * Math.max(1, v.length));
        b.copyFrom(v);
        return b;
    }

    DeviceBuffer up(int[] v) {
        DeviceBuffer b = alloc(4L * Math.max(1, v.length));
        b.copyFrom(v);
        return b;
    }

    DeviceBuffer up(long[] v) {
        DeviceBuffer b = alloc(8L * v.length);
        b.copyFrom(v);
        return b;
    }

    DeviceBuffer up(double[] v) {
        DeviceBuffer b = alloc(8L * v.length);
        b.copyFrom(v);
        return b;
    }

    DeviceBuffer alloc(long bytes) {
        DeviceBuffer b = device.allocate(bytes, "test-" + buffers.size());
        buffers.add(b);
        return b;
    }

    static float[] floats(DeviceBuffer b, int n) {
        float[] out = new float[n];
        b.copyTo(out, 0, n, 0);
        return out;
    }

    static int[] ints(DeviceBuffer b, int n) {
        int[] out = new int[n];
        b.copyTo(out);
        return n == out.length ? out : Arrays.copyOf(out, n);
    }

    static float[] gaussian(int n, long seed, double scale) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * scale);
        }
        return v;
    }

    static void assertClose(float[] got, double[] want, double relTol, String what) {
        double scale = 1e-30;
        for (double w : want) {
            scale = Math.max(scale, Math.abs(w));
        }
        for (int i = 0; i < want.length; i++) {
            assertThat(Math.abs(got[i] - want[i])).as("%s[%d]: got %s, want %s", what, i, got[i], want[i])
                    .isLessThanOrEqualTo(relTol * scale);
        }
    }

    // ------------------------------------------------------------------------------------------ elementwise

    @Test
    void shouldNormaliseRowsLikeRmsNorm() {
        int rows = 7;
        int dim = 37;
        float eps = 1e-5f;
        float[] x = gaussian(rows * dim, 1, 2);
        float[] w = gaussian(dim, 2, 1);
        DeviceBuffer out = alloc(4L * rows * dim);
        kernels.rmsnorm(stream, out, up(x), up(w), rows, dim, eps);
        double[] want = new double[rows * dim];
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < dim; i++) {
                ss += (double) x[r * dim + i] * x[r * dim + i];
            }
            double inv = 1 / Math.sqrt(ss / dim + eps);
            for (int i = 0; i < dim; i++) {
                want[r * dim + i] = w[i] * x[r * dim + i] * inv;
            }
        }
        assertClose(floats(out, rows * dim), want, 1e-5, "rmsnorm");
    }

    @Test
    void shouldRotateBothRopeLayouts() {
        int tokens = 5;
        int heads = 3;
        int hd = 20;
        int half = hd / 2;
        int[] positions = {0, 1, 7, 300, 4097};
        double[] invFreq = new double[half];
        for (int i = 0; i < half; i++) {
            invFreq[i] = 1.0 / Math.pow(10000, 2.0 * i / hd);
        }
        float[] x = gaussian(tokens * heads * hd, 3, 1);
        DeviceBuffer cosSin = alloc(4L * tokens * hd);
        kernels.ropeCache(stream, cosSin, up(positions), up(invFreq), tokens, half);
        float[] table = floats(cosSin, tokens * hd);
        for (int t = 0; t < tokens; t++) {
            for (int i = 0; i < half; i++) {
                double a = positions[t] * invFreq[i];
                assertThat(Math.abs(table[t * hd + i] - Math.cos(a))).as("cos t=%d i=%d", t, i).isLessThan(1e-7);
                assertThat(Math.abs(table[t * hd + half + i] - Math.sin(a))).as("sin t=%d i=%d", t, i)
                        .isLessThan(1e-7);
            }
        }
        for (boolean interleaved : new boolean[] {false, true}) {
            DeviceBuffer dx = up(x);
            kernels.rope(stream, dx, cosSin, tokens, heads, hd, interleaved);
            double[] want = new double[x.length];
            for (int t = 0; t < tokens; t++) {
                for (int h = 0; h < heads; h++) {
                    int o = (t * heads + h) * hd;
                    for (int i = 0; i < half; i++) {
                        double a = positions[t] * invFreq[i];
                        int i0 = interleaved ? o + 2 * i : o + i;
                        int i1 = interleaved ? i0 + 1 : i0 + half;
                        want[i0] = x[i0] * Math.cos(a) - x[i1] * Math.sin(a);
                        want[i1] = x[i1] * Math.cos(a) + x[i0] * Math.sin(a);
                    }
                }
            }
            float[] got = floats(dx, x.length);
            for (int i = 0; i < x.length; i++) {
                assertThat(Math.abs(got[i] - want[i])).as("rope interleaved=%s [%d]", interleaved, i)
                        .isLessThanOrEqualTo(2e-6 * Math.max(1, Math.abs(want[i])));
            }
        }
    }

    @Test
    void shouldApplySwiGluAndResidualAdds() {
        int n = 37 * 7;
        float[] gate = gaussian(n, 4, 3);
        float[] upv = gaussian(n, 5, 1);
        DeviceBuffer g = up(gate);
        kernels.siluMul(stream, g, g, up(upv), n);
        double[] want = new double[n];
        for (int i = 0; i < n; i++) {
            want[i] = gate[i] / (1 + Math.exp(-gate[i])) * upv[i];
        }
        assertClose(floats(g, n), want, 1e-6, "silu_mul");
        float[] y = gaussian(n, 6, 1);
        DeviceBuffer x = up(upv);
        kernels.add(stream, x, up(y), n);
        float[] got = floats(x, n);
        for (int i = 0; i < n; i++) {
            assertThat(got[i]).isEqualTo(upv[i] + y[i]);
        }
    }

    @Test
    void shouldGatherEmbeddingRowsOfEveryTableType() {
        int vocab = 11;
        int width = 37;
        float[] table = gaussian(vocab * width, 7, 1);
        int[] rows = {3, 0, 10, 3, 7};
        DeviceBuffer out = alloc(4L * rows.length * width);
        kernels.gatherRows(stream, out, up(table), CudaDataType.F32, up(rows), rows.length, width);
        float[] got = floats(out, rows.length * width);
        for (int r = 0; r < rows.length; r++) {
            for (int i = 0; i < width; i++) {
                assertThat(got[r * width + i]).isEqualTo(table[rows[r] * width + i]);
            }
        }
        for (CudaDataType t : new CudaDataType[] {CudaDataType.BF16, CudaDataType.F16}) {
            short[] half = new short[table.length];
            for (int i = 0; i < table.length; i++) {
                half[i] = HalfReference.nearest(table[i], t == CudaDataType.BF16);
            }
            DeviceBuffer dt = alloc(2L * half.length);
            dt.copyFrom(half);
            kernels.gatherRows(stream, out, dt, t, up(rows), rows.length, width);
            got = floats(out, rows.length * width);
            for (int r = 0; r < rows.length; r++) {
                for (int i = 0; i < width; i++) {
                    assertThat(got[r * width + i]).as("%s row %d", t, r)
                            .isEqualTo(HalfReference.decode(half[rows[r] * width + i], t == CudaDataType.BF16));
                }
            }
        }
    }

    @Test
    void shouldConvertToAndFromHalfPrecisionRoundingToNearestEven() {
        float[] x = HalfReference.edgeCases();
        DeviceBuffer in = up(x);
        for (CudaDataType t : new CudaDataType[] {CudaDataType.BF16, CudaDataType.F16}) {
            boolean bf = t == CudaDataType.BF16;
            DeviceBuffer h = alloc(2L * x.length);
            kernels.convert(stream, in, CudaDataType.F32, h, t, x.length);
            short[] got = new short[x.length];
            h.copyTo(got);
            for (int i = 0; i < x.length; i++) {
                if (Float.isNaN(x[i])) {
                    assertThat(Float.isNaN(HalfReference.decode(got[i], bf))).as("%s of NaN", t).isTrue();
                } else {
                    assertThat(got[i]).as("%s of %s (0x%08x)", t, x[i], Float.floatToRawIntBits(x[i]))
                            .isEqualTo(HalfReference.nearest(x[i], bf));
                }
            }
            DeviceBuffer back = alloc(4L * x.length);
            kernels.convert(stream, h, t, back, CudaDataType.F32, x.length);
            float[] wide = floats(back, x.length);
            for (int i = 0; i < x.length; i++) {
                float want = HalfReference.decode(got[i], bf);
                assertThat(Float.floatToRawIntBits(wide[i]) == Float.floatToRawIntBits(want)
                        || (Float.isNaN(want) && Float.isNaN(wide[i]))).as("%s widening of 0x%04x", t, got[i]).isTrue();
            }
        }
    }

    @Test
    void shouldFillRandomWeightsWithTheBitsTheCpuMaterializes() {
        // 7 x 37 elements: not a multiple of the block, so the grid-stride tail is covered; a negative mean and seed
        for (DType dtype : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            RandomTensor r = RandomTensor.uniform("w." + dtype, dtype, 7, 37, -3, -0.25, 0.5);
            CudaDataType t = CudaTensor.cudaType(dtype);
            int n = 7 * 37;
            DeviceBuffer b = alloc((long) t.bytes() * n);
            kernels.fillRandom(stream, b, t, n, r.seed(), r.bias(), r.step());
            MappedTensor host = r.materialize();
            byte[] want = new byte[t.bytes() * n];
            host.getRowsBytes(0, 7, want, 0);
            byte[] got = new byte[want.length];
            b.copyTo(got, 0, got.length, 0);
            assertThat(got).as("%s random weights, device vs RandomTensor.materialize", dtype).isEqualTo(want);
            float[] values = host.toFloatArray();
            double mean = 0;
            for (float v : values) {
                assertThat(v).as("%s value within mean +- half width (+ rounding)", dtype).isBetween(-0.76f, 0.26f);
                mean += v / n;
            }
            assertThat(mean).as("%s mean of 259 uniform draws", dtype).isBetween(-0.35, -0.15);
        }
    }

    // ------------------------------------------------------------------------------------------ KV cache, attention

    /** Three sequences in scrambled physical blocks: a 5-token prefill, a 17-long decode, a 1-long decode. */
    static final class Batch {
        final int heads = 4;
        final int kvHeads = 2;
        final int hd = 20;
        final int bs = 4;
        final int maxBlocks = 5;
        final int numBlocks = 12;
        final int[][] tables = {{7, 2, 9, 0, 5}, {1, 11, 3, 8, 6}, {10, 4, 0, 0, 0}};
        final int[] seqLen = {5, 17, 1};
        // tokens of this step: all 5 of seq 0 (prefill), the last of seq 1 and of seq 2 (decode)
        final int[] tokenSeq = {0, 0, 0, 0, 0, 1, 2};
        final int[] positions = {0, 1, 2, 3, 4, 16, 0};
        final int tokens = tokenSeq.length;

        int[] flatTables() {
            int[] out = new int[tables.length * maxBlocks];
            for (int s = 0; s < tables.length; s++) {
                System.arraycopy(tables[s], 0, out, s * maxBlocks, maxBlocks);
            }
            return out;
        }

        int cacheFloats() {
            return numBlocks * kvHeads * bs * hd;
        }
    }

    @Test
    void shouldWriteKvRowsWhereTheCpuLayoutPutsThem() {
        Batch b = new Batch();
        float[] k = gaussian(b.tokens * b.kvHeads * b.hd, 8, 1);
        float[] v = gaussian(b.tokens * b.kvHeads * b.hd, 9, 1);
        for (CudaDataType t : new CudaDataType[] {CudaDataType.F32, CudaDataType.F16}) {
            int elem = t.bytes();
            DeviceBuffer kc = alloc((long) elem * b.cacheFloats());
            DeviceBuffer vc = alloc((long) elem * b.cacheFloats());
            kc.fillBytesAsync(0, stream);
            vc.fillBytesAsync(0, stream);
            kernels.kvWrite(stream, t, kc, vc, up(k), up(v), up(b.positions), up(b.tokenSeq), up(b.flatTables()),
                    b.tokens, b.maxBlocks, b.kvHeads, b.bs, b.hd);
            float[] gotK = readCache(kc, t, b.cacheFloats());
            float[] gotV = readCache(vc, t, b.cacheFloats());
            boolean[] touched = new boolean[b.cacheFloats()];
            for (int tok = 0; tok < b.tokens; tok++) {
                int[] table = b.tables[b.tokenSeq[tok]];
                int pos = b.positions[tok];
                for (int h = 0; h < b.kvHeads; h++) {
                    int o = KvCacheDescriptor.offset(table[pos / b.bs], h, pos % b.bs, b.kvHeads, b.bs, b.hd);
                    for (int i = 0; i < b.hd; i++) {
                        int src = (tok * b.kvHeads + h) * b.hd + i;
                        assertThat(gotK[o + i]).as("%s K token %d head %d dim %d", t, tok, h, i)
                                .isEqualTo(store(k[src], t));
                        assertThat(gotV[o + i]).isEqualTo(store(v[src], t));
                        touched[o + i] = true;
                    }
                }
            }
            for (int i = 0; i < touched.length; i++) {
                if (!touched[i]) {
                    assertThat(gotK[i]).as("%s cache element %d was not written to", t, i).isZero();
                }
            }
        }
    }

    static float store(float x, CudaDataType t) {
        return t == CudaDataType.F16 ? HalfReference.decode(HalfReference.nearest(x, false), false) : x;
    }

    static float[] readCache(DeviceBuffer c, CudaDataType t, int n) {
        float[] out = new float[n];
        if (t == CudaDataType.F32) {
            c.copyTo(out);
        } else {
            short[] h = new short[n];
            c.copyTo(h);
            for (int i = 0; i < n; i++) {
                out[i] = HalfReference.decode(h[i], false);
            }
        }
        return out;
    }

    @Test
    void shouldAttendOverPagedKvForPrefillAndDecodeWithGqaAndWindows() {
        Batch b = new Batch();
        for (CudaDataType t : new CudaDataType[] {CudaDataType.F32, CudaDataType.F16}) {
            for (int window : new int[] {0, 3}) {
                // the whole history of each sequence, as earlier steps (and this one) wrote it
                float[] kFull = new float[b.cacheFloats()];
                float[] vFull = new float[b.cacheFloats()];
                Random r = new Random(10);
                for (int s = 0; s < b.tables.length; s++) {
                    for (int pos = 0; pos < b.seqLen[s]; pos++) {
                        for (int h = 0; h < b.kvHeads; h++) {
                            int o = KvCacheDescriptor.offset(b.tables[s][pos / b.bs], h, pos % b.bs, b.kvHeads, b.bs,
                                    b.hd);
                            for (int i = 0; i < b.hd; i++) {
                                kFull[o + i] = store((float) r.nextGaussian(), t);
                                vFull[o + i] = store((float) r.nextGaussian(), t);
                            }
                        }
                    }
                }
                float[] q = gaussian(b.tokens * b.heads * b.hd, 11, 1);
                DeviceBuffer kc = cacheOf(kFull, t);
                DeviceBuffer vc = cacheOf(vFull, t);
                DeviceBuffer out = alloc(4L * q.length);
                kernels.pagedAttention(stream, t, out, up(q), kc, vc, up(b.positions), up(b.tokenSeq),
                        up(b.flatTables()), b.tokens, b.maxBlocks, b.heads, b.kvHeads, b.hd, b.bs, window);
                double[] want = new double[q.length];
                double scale = 1 / Math.sqrt(b.hd);
                for (int tok = 0; tok < b.tokens; tok++) {
                    int[] table = b.tables[b.tokenSeq[tok]];
                    int pos = b.positions[tok];
                    int start = window > 0 ? Math.max(0, pos - window + 1) : 0;
                    for (int h = 0; h < b.heads; h++) {
                        int kvh = h / (b.heads / b.kvHeads);
                        int qo = (tok * b.heads + h) * b.hd;
                        double[] sc = new double[pos + 1];
                        double max = Double.NEGATIVE_INFINITY;
                        for (int p = start; p <= pos; p++) {
                            int o = KvCacheDescriptor.offset(table[p / b.bs], kvh, p % b.bs, b.kvHeads, b.bs, b.hd);
                            double dot = 0;
                            for (int i = 0; i < b.hd; i++) {
                                dot += (double) q[qo + i] * kFull[o + i];
                            }
                            sc[p] = dot * scale;
                            max = Math.max(max, sc[p]);
                        }
                        double z = 0;
                        for (int p = start; p <= pos; p++) {
                            z += Math.exp(sc[p] - max);
                        }
                        for (int p = start; p <= pos; p++) {
                            int o = KvCacheDescriptor.offset(table[p / b.bs], kvh, p % b.bs, b.kvHeads, b.bs, b.hd);
                            double w = Math.exp(sc[p] - max) / z;
                            for (int i = 0; i < b.hd; i++) {
                                want[qo + i] += w * vFull[o + i];
                            }
                        }
                    }
                }
                assertClose(floats(out, q.length), want, 1e-5, "attention " + t + " window " + window);
            }
        }
    }

    DeviceBuffer cacheOf(float[] values, CudaDataType t) {
        if (t == CudaDataType.F32) {
            return up(values);
        }
        short[] h = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            h[i] = HalfReference.nearest(values[i], false);
        }
        DeviceBuffer b = alloc(2L * h.length);
        b.copyFrom(h);
        return b;
    }

    @Test
    void shouldRejectShapesTheKernelsCannotRun() {
        DeviceBuffer small = alloc(16);
        assertThatThrownBy(() -> kernels.pagedAttention(stream, CudaDataType.F32, small, small, small, small, small,
                small, small, 1, 1, 6, 4, 20, 4, 0)).hasMessageContaining("heads=6 must be a multiple of kvHeads=4");
        assertThatThrownBy(() -> kernels.pagedAttention(stream, CudaDataType.F32, small, small, small, small, small,
                small, small, 1, 1, 4, 2, 512, 4, 0)).hasMessageContaining("headDim=512");
        assertThatThrownBy(() -> kernels.rmsnorm(stream, small, small, small, 7, 37, 1e-5f))
                .hasMessageContaining("rmsnorm: x (rows x dim f32) needs 1036 bytes");
        assertThatThrownBy(() -> kernels.kvWrite(stream, CudaDataType.BF16, small, small, small, small, small, small,
                small, 1, 1, 1, 1, 1)).hasMessageContaining("KV cache type BF16 is not supported");
    }

    // ------------------------------------------------------------------------------------------ sampling

    @Test
    void shouldDrawFromSplittableRandomStreamsPerRowAndStep() {
        // all logits equal: each token has mass 1 and the draw u * vocab selects token floor(u * vocab)
        int vocab = 1000;
        int rows = 7;
        long[] seeds = {0, 1, 42, -5, Long.MAX_VALUE, 123456789L, -1};
        for (int step = 0; step < 3; step++) {
            int[] got = runSampler(new float[rows * vocab], rows, vocab, fill(rows, 1f), new int[rows],
                    fill(rows, 1f), fill(rows, 0f), seeds, longs(rows, step));
            for (int r = 0; r < rows; r++) {
                SplittableRandom rnd = new SplittableRandom(seeds[r]);
                double u = 0;
                for (int i = 0; i <= step; i++) {
                    u = rnd.nextDouble();
                }
                assertThat(got[r]).as("row %d step %d", r, step).isEqualTo((int) Math.floor(u * vocab));
            }
        }
    }

    @Test
    void shouldSampleLikeTheReferenceForEveryFilter() {
        int rows = 7;
        for (int vocab : new int[] {37, 1000}) {
            float[] logits = gaussian(rows * vocab, vocab, 3);
            // per row: greedy, temperature, top-k, top-p, min-p, all together, temperature 0.3 with top-k 1
            float[] invT = {0f, 1f / 0.7f, 1f, 1f / 1.3f, 1f, 1f / 0.9f, 1f / 0.3f};
            int[] topK = {0, 0, 5, 0, 0, 20, 1};
            float[] topP = {1f, 1f, 1f, 0.8f, 1f, 0.9f, 1f};
            float[] minP = {0f, 0f, 0f, 0f, 0.05f, 0.02f, 0f};
            long[] seeds = {3, 4, 5, 6, 7, 8, 9};
            for (int step = 0; step < 2; step++) {
                long[] steps = longs(rows, step);
                int[] got = runSampler(logits, rows, vocab, invT, topK, topP, minP, seeds, steps);
                for (int r = 0; r < rows; r++) {
                    int want = SamplerReference.sample(Arrays.copyOfRange(logits, r * vocab, (r + 1) * vocab), invT[r],
                            topK[r], topP[r], minP[r], seeds[r], step);
                    assertThat(got[r]).as("vocab %d row %d step %d", vocab, r, step).isEqualTo(want);
                }
            }
        }
    }

    @Test
    void shouldGiveEachRowTheSameTokenWhateverElseIsInTheBatch() {
        int vocab = 97;
        float[] logits = gaussian(5 * vocab, 12, 2);
        float[] one = Arrays.copyOfRange(logits, 2 * vocab, 3 * vocab);
        int[] alone = runSampler(one, 1, vocab, fill(1, 1.2f), new int[] {10}, fill(1, 0.95f), fill(1, 0f),
                new long[] {77}, new long[] {5});
        int[] batch = runSampler(logits, 5, vocab, fill(5, 1.2f), new int[] {10, 10, 10, 10, 10}, fill(5, 0.95f),
                fill(5, 0f), new long[] {1, 2, 77, 4, 5}, longs(5, 5));
        assertThat(batch[2]).isEqualTo(alone[0]);
    }

    @Test
    void shouldAgreeWithTheCpuEngineSampler() {
        int vocab = 200;
        int rows = 6;
        float[] logits = gaussian(rows * vocab, 13, 2);
        double[] temps = {0, 0.8, 1.0, 1.0, 0.6, 1.1};
        int[] topK = {0, 0, 12, 0, 0, 30};
        double[] topP = {1, 1, 1, 0.85, 1, 0.9};
        double[] minP = {0, 0, 0, 0, 0.1, 0.01};
        long[] seeds = {21, 22, 23, 24, 25, 26};
        float[] invT = new float[rows];
        float[] tp = new float[rows];
        float[] mp = new float[rows];
        for (int r = 0; r < rows; r++) {
            invT[r] = temps[r] == 0 ? 0f : (float) (1.0 / temps[r]);
            tp[r] = (float) topP[r];
            mp[r] = (float) minP[r];
        }
        int[] got = runSampler(logits, rows, vocab, invT, topK, tp, mp, seeds, new long[rows]);
        for (int r = 0; r < rows; r++) {
            io.stoker.llm.sample.SamplingParams p = io.stoker.llm.sample.SamplingParams.builder().temperature(temps[r])
                    .topK(topK[r]).topP(topP[r]).minP(minP[r]).seed(seeds[r]).build();
            io.stoker.llm.sample.Sampler cpu = new io.stoker.llm.sample.Sampler(p, vocab, seeds[r], new int[0]);
            assertThat(got[r]).as("row %d", r).isEqualTo(cpu.sample(logits, r * vocab));
        }
    }

    @Test
    void shouldApplyPenaltiesAndThenSampleLikeTheCpuEngine() {
        int vocab = 37;
        int rows = 3;
        float[] logits = gaussian(rows * vocab, 15, 2);
        int[][] prompt = {{1, 2, 3}, {}, {5, 36}};
        int[][] output = {{2, 2, 7}, {0, 0, 0, 4}, {}};
        double[] rep = {1.3, 1.0, 0.8};
        double[] pres = {0.5, -0.4, 0};
        double[] freq = {0.25, 1.5, 0};
        // per row: each seen token once, with its output count
        List<int[]> entries = new ArrayList<>();
        int[] rowStart = new int[rows + 1];
        for (int r = 0; r < rows; r++) {
            java.util.TreeMap<Integer, Integer> seen = new java.util.TreeMap<>();
            for (int t : prompt[r]) {
                seen.putIfAbsent(t, 0);
            }
            for (int t : output[r]) {
                seen.merge(t, 1, Integer::sum);
            }
            seen.forEach((t, c) -> entries.add(new int[] {t, c}));
            rowStart[r + 1] = entries.size();
        }
        int[] toks = new int[entries.size()];
        int[] counts = new int[entries.size()];
        for (int j = 0; j < toks.length; j++) {
            toks[j] = entries.get(j)[0];
            counts[j] = entries.get(j)[1];
        }
        float[] rp = new float[rows];
        float[] pp = new float[rows];
        float[] fp = new float[rows];
        for (int r = 0; r < rows; r++) {
            rp[r] = (float) rep[r];
            pp[r] = (float) pres[r];
            fp[r] = (float) freq[r];
        }
        DeviceBuffer dl = up(logits);
        kernels.applyPenalties(stream, dl, rows, vocab, up(rowStart), up(toks), up(counts), up(rp), up(pp), up(fp));
        DeviceBuffer out = alloc(4L * rows);
        kernels.sample(stream, out, dl, rows, vocab, up(fill(rows, 0f)), up(new int[rows]), up(fill(rows, 1f)),
                up(fill(rows, 0f)), up(new long[rows]), up(new long[rows]));
        float[] penalised = floats(dl, rows * vocab).clone();
        int[] got = ints(out, rows);
        for (int r = 0; r < rows; r++) {
            io.stoker.llm.sample.SamplingParams p = io.stoker.llm.sample.SamplingParams.builder()
                    .repetitionPenalty(rep[r]).presencePenalty(pres[r]).frequencyPenalty(freq[r]).build();
            io.stoker.llm.sample.Sampler cpu = new io.stoker.llm.sample.Sampler(p, vocab, 1, prompt[r]);
            for (int t : output[r]) {
                cpu.accept(t);
            }
            assertThat(got[r]).as("greedy token of row %d after penalties", r).isEqualTo(cpu.sample(logits, r * vocab));
            for (int i = 0; i < vocab; i++) {
                float want = logits[r * vocab + i];
                boolean seen = false;
                int c = 0;
                for (int t : prompt[r]) {
                    seen |= t == i;
                }
                for (int t : output[r]) {
                    seen |= t == i;
                    c += t == i ? 1 : 0;
                }
                if (seen && rp[r] != 1f) {
                    want = want > 0 ? want / rp[r] : want * rp[r];
                }
                if (c > 0) {
                    want -= (float) ((double) fp[r] * c + (double) pp[r]);
                }
                assertThat(penalised[r * vocab + i]).as("row %d token %d", r, i).isEqualTo(want);
            }
        }
    }

    int[] runSampler(float[] logits, int rows, int vocab, float[] invT, int[] topK, float[] topP, float[] minP,
                     long[] seeds, long[] steps) {
        DeviceBuffer out = alloc(4L * rows);
        kernels.sample(stream, out, up(logits), rows, vocab, up(invT), up(topK), up(topP), up(minP), up(seeds),
                up(steps));
        return ints(out, rows);
    }

    static float[] fill(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }

    static long[] longs(int n, long v) {
        long[] a = new long[n];
        Arrays.fill(a, v);
        return a;
    }

    @Test
    void shouldComputeLogprobsOnTheDevice() {
        int rows = 7;
        int vocab = 37;
        float[] logits = gaussian(rows * vocab, 14, 3);
        logits[5] = logits[6]; // a tie: the lower id ranks first
        int[] tokens = {0, 5, 36, 12, 7, 7, 20};
        DeviceBuffer dl = up(logits);
        DeviceBuffer lp = alloc(4L * rows);
        kernels.tokenLogprobs(stream, lp, dl, up(tokens), rows, vocab);
        int k = 5;
        DeviceBuffer ids = alloc(4L * rows * k);
        DeviceBuffer tops = alloc(4L * rows * k);
        kernels.topLogprobs(stream, ids, tops, dl, rows, vocab, k);
        float[] gotLp = floats(lp, rows);
        int[] gotIds = ints(ids, rows * k);
        float[] gotTops = floats(tops, rows * k);
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < vocab; i++) {
                max = Math.max(max, logits[r * vocab + i]);
            }
            double z = 0;
            for (int i = 0; i < vocab; i++) {
                z += Math.exp(logits[r * vocab + i] - max);
            }
            double logZ = max + Math.log(z);
            assertThat((double) gotLp[r]).isCloseTo(logits[r * vocab + tokens[r]] - logZ,
                    org.assertj.core.data.Offset.offset(1e-5));
            Integer[] order = new Integer[vocab];
            for (int i = 0; i < vocab; i++) {
                order[i] = i;
            }
            final int row = r;
            Arrays.sort(order, (a, b2) -> {
                int c = Float.compare(logits[row * vocab + b2], logits[row * vocab + a]);
                return c != 0 ? c : Integer.compare(a, b2);
            });
            for (int j = 0; j < k; j++) {
                assertThat(gotIds[r * k + j]).as("row %d top %d", r, j).isEqualTo(order[j]);
                assertThat((double) gotTops[r * k + j]).isCloseTo(logits[r * vocab + order[j]] - logZ,
                        org.assertj.core.data.Offset.offset(1e-5));
            }
        }
    }
}
