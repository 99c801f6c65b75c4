package io.stoker.llm.backend.cpu;

import io.stoker.llm.backend.Activation;
import io.stoker.llm.backend.TokenSampler;
import io.stoker.llm.kv.KvCache;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.sample.SplitMix64;
import io.stoker.llm.sample.TokenLogprobs;
import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.Float16;
import io.stoker.llm.tensor.MappedTensor;
import io.stoker.llm.tensor.Q8;
import io.stoker.llm.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Every CPU backend op against a scalar float64 reference written here, at shapes that are not multiples of the
 * vector width: 37 columns, 7 rows, 5 tokens, head_dim 10, blocks of 3. Tolerances are relative to the size of the
 * values (f32 accumulation vs float64).
 */
class CpuBackendOpsTest {
    static final int N_TOK = 5;
    final CpuBackend be = new CpuBackend(2);
    final SplittableRandom rnd = new SplittableRandom(42);

    @AfterEach
    void close() {
        be.close();
    }

    // ------------------------------------------------------------------------------------------ fixtures

    float[] random(int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
        }
        return v;
    }

    /** A tensor of {@code rows x cols} in {@code dt}, split into mapped chunks of 3 rows; {@code ref} gets the values. */
    static MappedTensor tensor(String name, float[] values, int rows, int cols, DType dt, double[] ref) {
        int rowBytes = (int) dt.bytesFor(cols);
        ByteBuffer all = ByteBuffer.allocate(rows * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < rows; r++) {
            switch (dt) {
                case F32:
                    for (int c = 0; c < cols; c++) {
                        all.putFloat(values[r * cols + c]);
                        ref[r * cols + c] = values[r * cols + c];
                    }
                    break;
                case F16:
                    for (int c = 0; c < cols; c++) {
                        short h = Float16.fromFloat(values[r * cols + c]);
                        all.putShort(h);
                        ref[r * cols + c] = Float16.toFloat(h);
                    }
                    break;
                case BF16:
                    for (int c = 0; c < cols; c++) {
                        short h = Float16.floatToBf16(values[r * cols + c]);
                        all.putShort(h);
                        ref[r * cols + c] = Float16.bf16ToFloat(h);
                    }
                    break;
                default: {
                    byte[] q = new byte[rowBytes];
                    Q8.quantize(values, r * cols, cols, q, 0);
                    all.put(q);
                    for (int b = 0; b < cols / 32; b++) {
                        double d = Q8.scale(q, b * 34);
                        for (int j = 0; j < 32; j++) {
                            ref[r * cols + b * 32 + j] = d * q[b * 34 + 2 + j];
                        }
                    }
                }
            }
        }
        int per = 3;
        int nChunks = (rows + per - 1) / per;
        ByteBuffer[] chunks = new ByteBuffer[nChunks];
        for (int i = 0; i < nChunks; i++) {
            int from = i * per * rowBytes;
            int to = Math.min(rows, (i + 1) * per) * rowBytes;
            chunks[i] = ByteBuffer.wrap(Arrays.copyOfRange(all.array(), from, to)).order(ByteOrder.LITTLE_ENDIAN);
        }
        long[] shape = rows == 1 ? new long[]{cols} : new long[]{rows, cols};
        return new MappedTensor(name, dt, shape, chunks, per);
    }

    Activation act(String name, int rows, int cols, float[] values) {
        Activation a = be.allocate(name, rows + 2, cols); // spare rows: ops must respect n
        be.copyFromHost(values, 0, rows, a);
        return a;
    }

    float[] host(Activation a, int rows) {
        float[] out = new float[rows * a.cols()];
        be.copyToHost(a, rows, out, 0);
        return out;
    }

    static double maxAbs(double[] v) {
        double m = 0;
        for (double x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }

    static void assertClose(float[] got, double[] ref, double relTol, String what) {
        double tol = relTol * Math.max(1, maxAbs(ref));
        assertThat(got).hasSameSizeAs(ref);
        for (int i = 0; i < ref.length; i++) {
            assertThat((double) got[i]).as("%s [%d]", what, i).isCloseTo(ref[i], within(tol));
        }
    }

    /** Two sequences: 3 tokens of sequence 0 at positions 4..6 (blocks 5, 0, 3) and 2 of sequence 1 at 1..2. */
    static ForwardBatch batch(int[] tokens) {
        return new ForwardBatch(N_TOK, tokens, new int[]{4, 5, 6, 1, 2}, new int[]{0, 0, 0, 1, 1},
                new int[][]{{5, 0, 3}, {2, 4}}, new int[]{2, 4});
    }

    // ------------------------------------------------------------------------------------------ matmul

    @ParameterizedTest
    @EnumSource(value = DType.class)
    void shouldMatchScalarReferenceForMatmulAtOddShapes(DType dt) {
        int rows = 7;
        int cols = dt == DType.Q8_0 ? 96 : 37;
        double[] w = new double[rows * cols];
        MappedTensor t = tensor("w", random(rows * cols, 1), rows, cols, dt, w);
        float[] x = random(N_TOK * cols, 1);
        // whole matrix, then a slice of rows [2, 7) and columns [32, 96) / [5, 37) as tensor parallelism reads them
        for (int[] slice : new int[][]{{0, rows, 0, cols}, {2, 5, dt == DType.Q8_0 ? 32 : 5,
                dt == DType.Q8_0 ? 64 : 32}}) {
            int row0 = slice[0];
            int nRows = slice[1];
            int col0 = slice[2];
            int nCols = slice[3];
            float[] xs = new float[N_TOK * nCols];
            for (int tk = 0; tk < N_TOK; tk++) {
                System.arraycopy(x, tk * cols + col0, xs, tk * nCols, nCols);
            }
            Activation xa = act("x", N_TOK, nCols, xs);
            Activation y = be.allocate("y", N_TOK, nRows);
            be.matmul(t, row0, col0, xa, N_TOK, y);
            double[] ref = new double[N_TOK * nRows];
            for (int tk = 0; tk < N_TOK; tk++) {
                for (int r = 0; r < nRows; r++) {
                    double s = 0;
                    for (int c = 0; c < nCols; c++) {
                        s += w[(row0 + r) * cols + col0 + c] * xs[tk * nCols + c];
                    }
                    ref[tk * nRows + r] = s;
                }
            }
            float[] got = host(y, N_TOK);
            assertClose(got, ref, 1e-5, dt + " matmul " + Arrays.toString(slice));
            // batch invariance: each token alone gives the same bits
            for (int tk = 0; tk < N_TOK; tk++) {
                Activation one = act("x1", 1, nCols, Arrays.copyOfRange(xs, tk * nCols, (tk + 1) * nCols));
                Activation y1 = be.allocate("y1", 1, nRows);
                be.matmul(t, row0, col0, one, 1, y1);
                assertThat(host(y1, 1)).as("token %d alone", tk)
                        .containsExactly(Arrays.copyOfRange(got, tk * nRows, (tk + 1) * nRows));
            }
        }
    }

    // ------------------------------------------------------------------------------------------ element-wise

    @ParameterizedTest
    @EnumSource(value = DType.class)
    void shouldEmbedDequantizedRows(DType dt) {
        int vocab = 7;
        int dim = dt == DType.Q8_0 ? 64 : 37;
        double[] ref = new double[vocab * dim];
        MappedTensor table = tensor("embed", random(vocab * dim, 1), vocab, dim, dt, ref);
        int[] tokens = {6, 0, 3, 3, 5};
        Activation out = be.allocate("x", N_TOK, dim);
        be.embed(table, batch(tokens), out);
        double[] exp = new double[N_TOK * dim];
        for (int i = 0; i < N_TOK; i++) {
            System.arraycopy(ref, tokens[i] * dim, exp, i * dim, dim);
        }
        assertClose(host(out, N_TOK), exp, 0, dt + " embed");
    }

    @Test
    void shouldMatchScalarReferenceForRmsNorm() {
        int dim = 37;
        float[] x = random(N_TOK * dim, 3);
        double[] wRef = new double[dim];
        Tensor w = be.prepare(tensor("norm", random(dim, 1), 1, dim, DType.F32, wRef));
        Activation out = be.allocate("xb", N_TOK, dim);
        be.rmsNorm(act("x", N_TOK, dim, x), w, 1e-5, N_TOK, out);
        double[] ref = new double[N_TOK * dim];
        for (int t = 0; t < N_TOK; t++) {
            double ss = 0;
            for (int i = 0; i < dim; i++) {
                ss += (double) x[t * dim + i] * x[t * dim + i];
            }
            double inv = 1 / Math.sqrt(ss / dim + 1e-5);
            for (int i = 0; i < dim; i++) {
                ref[t * dim + i] = x[t * dim + i] * inv * wRef[i];
            }
        }
        assertClose(host(out, N_TOK), ref, 1e-6, "rmsNorm");
    }

    @Test
    void shouldAddBiasSliceResidualAndSiluTimesUp() {
        int dim = 37;
        float[] y = random(N_TOK * dim, 1);
        float[] z = random(N_TOK * dim, 1);
        double[] bRef = new double[dim + 11];
        Tensor bias = be.prepare(tensor("bias", random(dim + 11, 1), 1, dim + 11, DType.F32, bRef));
        Activation ya = act("y", N_TOK, dim, y);
        be.addBias(ya, bias, 11, N_TOK);
        be.add(ya, act("z", N_TOK, dim, z), N_TOK);
        double[] ref = new double[N_TOK * dim];
        for (int t = 0; t < N_TOK; t++) {
            for (int i = 0; i < dim; i++) {
                ref[t * dim + i] = y[t * dim + i] + bRef[11 + i] + z[t * dim + i];
            }
        }
        float[] got = host(ya, N_TOK);
        assertClose(got, ref, 1e-6, "bias + residual");
        float[] up = random(N_TOK * dim, 2);
        be.siluMul(ya, act("up", N_TOK, dim, up), N_TOK);
        double[] silu = new double[N_TOK * dim];
        for (int i = 0; i < silu.length; i++) {
            double g = got[i];
            silu[i] = g / (1 + Math.exp(-g)) * up[i];
        }
        assertClose(host(ya, N_TOK), silu, 1e-6, "silu(gate) * up");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void shouldRotatePairsLikeTheReference(boolean interleaved) {
        int heads = 3;
        int hd = 10;
        int half = hd / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1 / Math.pow(10000, 2.0 * i / hd);
        }
        ForwardBatch b = batch(new int[N_TOK]);
        Activation cs = be.allocate("cos_sin", N_TOK, hd);
        be.ropeCache(b, inv, cs);
        float[] x = random(N_TOK * heads * hd, 1);
        Activation xa = act("q", N_TOK, heads * hd, x);
        be.rope(xa, N_TOK, heads, hd, cs, interleaved);
        double[] ref = new double[x.length];
        for (int t = 0; t < N_TOK; t++) {
            for (int h = 0; h < heads; h++) {
                int o = (t * heads + h) * hd;
                for (int i = 0; i < half; i++) {
                    double a = b.positions()[t] * inv[i];
                    int i0 = interleaved ? o + 2 * i : o + i;
                    int i1 = interleaved ? i0 + 1 : i0 + half;
                    ref[i0] = x[i0] * Math.cos(a) - x[i1] * Math.sin(a);
                    ref[i1] = x[i1] * Math.cos(a) + x[i0] * Math.sin(a);
                }
            }
        }
        assertClose(host(xa, N_TOK), ref, 1e-6, "rope");
    }

    @Test
    void shouldGatherRows() {
        float[] x = random(N_TOK * 37, 1);
        Activation dst = be.allocate("out", 3, 37);
        be.gatherRows(act("x", N_TOK, 37, x), new int[]{4, 0, 4}, 3, dst);
        float[] got = host(dst, 3);
        assertThat(Arrays.copyOfRange(got, 0, 37)).containsExactly(Arrays.copyOfRange(x, 4 * 37, 5 * 37));
        assertThat(Arrays.copyOfRange(got, 37, 74)).containsExactly(Arrays.copyOfRange(x, 0, 37));
    }

    // ------------------------------------------------------------------------------------------ KV and attention

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16"})
    void shouldMatchScalarReferenceForPagedAttentionWithGqaAndWindow(DType kvType) {
        int heads = 6;
        int kvHeads = 2;
        int hd = 10;
        int bs = 3;
        KvCache cache = be.createKvCache(0, 1, 6, bs, kvHeads, hd, kvType);
        // history: sequence 0 positions 0..3, sequence 1 position 0, written by an earlier step
        ForwardBatch past = new ForwardBatch(5, new int[5], new int[]{0, 1, 2, 3, 0}, new int[]{0, 0, 0, 0, 1},
                new int[][]{{5, 0, 3}, {2, 4}}, new int[]{4});
        float[] pk = random(5 * kvHeads * hd, 1);
        float[] pv = random(5 * kvHeads * hd, 1);
        be.kvWrite(cache, 0, act("k", 5, kvHeads * hd, pk), act("v", 5, kvHeads * hd, pv), past);
        ForwardBatch b = batch(new int[N_TOK]);
        float[] k = random(N_TOK * kvHeads * hd, 1);
        float[] v = random(N_TOK * kvHeads * hd, 1);
        be.kvWrite(cache, 0, act("k", N_TOK, kvHeads * hd, k), act("v", N_TOK, kvHeads * hd, v), b);
        float[] q = random(N_TOK * heads * hd, 1);
        // the reference's view of each sequence's cache, position-major
        double[][][] refK = new double[2][8][];
        double[][][] refV = new double[2][8][];
        for (int[] src : new int[][]{{0, 0, 0}, {0, 1, 1}, {0, 2, 2}, {0, 3, 3}, {1, 0, 4}}) {
            refK[src[0]][src[1]] = rounded(pk, src[2] * kvHeads * hd, kvHeads * hd, kvType);
            refV[src[0]][src[1]] = rounded(pv, src[2] * kvHeads * hd, kvHeads * hd, kvType);
        }
        for (int t = 0; t < N_TOK; t++) {
            refK[b.tokenSeq()[t]][b.positions()[t]] = rounded(k, t * kvHeads * hd, kvHeads * hd, kvType);
            refV[b.tokenSeq()[t]][b.positions()[t]] = rounded(v, t * kvHeads * hd, kvHeads * hd, kvType);
        }
        for (int window : new int[]{0, 2}) {
            Activation out = be.allocate("att", N_TOK, heads * hd);
            be.attention(act("q", N_TOK, heads * hd, q), heads, cache, 0, window, b, out);
            double[] ref = new double[N_TOK * heads * hd];
            for (int t = 0; t < N_TOK; t++) {
                int seq = b.tokenSeq()[t];
                int pos = b.positions()[t];
                int start = window > 0 ? Math.max(0, pos - window + 1) : 0;
                for (int h = 0; h < heads; h++) {
                    int kvh = h / (heads / kvHeads);
                    double[] sc = new double[pos + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int p = start; p <= pos; p++) {
                        double s = 0;
                        for (int i = 0; i < hd; i++) {
                            s += q[(t * heads + h) * hd + i] * refK[seq][p][kvh * hd + i];
                        }
                        sc[p] = s / Math.sqrt(hd);
                        max = Math.max(max, sc[p]);
                    }
                    double sum = 0;
                    for (int p = start; p <= pos; p++) {
                        sc[p] = Math.exp(sc[p] - max);
                        sum += sc[p];
                    }
                    for (int i = 0; i < hd; i++) {
                        double acc = 0;
                        for (int p = start; p <= pos; p++) {
                            acc += sc[p] / sum * refV[seq][p][kvh * hd + i];
                        }
                        ref[(t * heads + h) * hd + i] = acc;
                    }
                }
            }
            assertClose(host(out, N_TOK), ref, 1e-5, kvType + " attention, window " + window);
        }
    }

    private static double[] rounded(float[] src, int off, int n, DType dt) {
        double[] r = new double[n];
        for (int i = 0; i < n; i++) {
            float x = src[off + i];
            r[i] = dt == DType.F16 ? Float16.toFloat(Float16.fromFloat(x)) : x;
        }
        return r;
    }

    // ------------------------------------------------------------------------------------------ sampling

    @Test
    void shouldDrawTheSameNumbersAsSplittableRandom() {
        for (long seed : new long[]{0, 7, -123456789L, Long.MAX_VALUE}) {
            SplittableRandom r = new SplittableRandom(seed);
            for (int k = 0; k < 50; k++) {
                assertThat(SplitMix64.uniform(seed, k)).isEqualTo(r.nextDouble());
            }
        }
    }

    @Test
    void shouldSampleEachRowFromItsOwnSlotLikeTheReference() {
        int vocab = 37;
        int rows = 5;
        float[] logits = random(rows * vocab, 4);
        Activation l = act("logits", rows, vocab, logits);
        SamplingParams greedyPenalised = SamplingParams.builder().repetitionPenalty(1.3).frequencyPenalty(0.5)
                .presencePenalty(0.25).build();
        SamplingParams hot = SamplingParams.builder().temperature(0.8).build();
        SamplingParams filtered = SamplingParams.builder().temperature(1.2).topK(9).topP(0.8).minP(0.05).build();
        int[] history = {3, 3, 20, 11};
        try (TokenSampler s = be.createSampler(vocab, 8)) {
            s.open(6, greedyPenalised, 0, history, 1); // prompt {3}, outputs {3, 20, 11}
            s.open(1, hot, 99, new int[]{1, 2}, 2);
            s.open(4, filtered, -5, new int[]{1}, 1);
            s.open(0, hot, 99, new int[]{1, 2, 8}, 2); // same seed as slot 1, one draw further
            s.open(2, SamplingParams.greedy(4), 0, new int[]{1}, 1);
            int[] slots = {6, 1, 4, 0, 2};
            int[] got = new int[rows];
            s.sample(l, rows, slots, got);
            int[] exp = {
                referenceSample(logits, 0, vocab, greedyPenalised, 0, history, 1),
                referenceSample(logits, 1, vocab, hot, 99, new int[]{1, 2}, 2),
                referenceSample(logits, 2, vocab, filtered, -5, new int[]{1}, 1),
                referenceSample(logits, 3, vocab, hot, 99, new int[]{1, 2, 8}, 2),
                referenceSample(logits, 4, vocab, SamplingParams.greedy(4), 0, new int[]{1}, 1)};
            assertThat(got).containsExactly(exp);
            TokenLogprobs lp = s.logprobs(l, 2, got[2], 4);
            double z = 0;
            for (int i = 0; i < vocab; i++) {
                z += Math.exp(logits[2 * vocab + i]);
            }
            int best = 0;
            for (int i = 1; i < vocab; i++) {
                best = logits[2 * vocab + i] > logits[2 * vocab + best] ? i : best;
            }
            assertThat(lp.topTokens()[0]).isEqualTo(best);
            assertThat((double) lp.logprob()).isCloseTo(logits[2 * vocab + got[2]] - Math.log(z), within(1e-5));
        }
    }

    /** The documented algorithm in float64: penalties, temperature, top-k, top-p, min-p, one counter-based draw. */
    static int referenceSample(float[] logits, int row, int vocab, SamplingParams p, long seed, int[] tokens,
                               int promptLen) {
        double[] l = new double[vocab];
        for (int i = 0; i < vocab; i++) {
            l[i] = logits[row * vocab + i];
        }
        boolean[] seen = new boolean[vocab];
        int[] counts = new int[vocab];
        for (int i = 0; i < tokens.length; i++) {
            seen[tokens[i]] = true;
            if (i >= promptLen) {
                counts[tokens[i]]++;
            }
        }
        for (int i = 0; i < vocab; i++) {
            if (seen[i]) {
                l[i] = l[i] > 0 ? l[i] / p.repetitionPenalty() : l[i] * p.repetitionPenalty();
            }
            if (counts[i] > 0) {
                l[i] -= p.frequencyPenalty() * counts[i] + p.presencePenalty();
            }
        }
        Integer[] ids = new Integer[vocab];
        for (int i = 0; i < vocab; i++) {
            ids[i] = i;
        }
        Arrays.sort(ids, (a, b) -> l[a] != l[b] ? Double.compare(l[b], l[a]) : Integer.compare(a, b));
        if (p.greedy()) {
            return ids[0];
        }
        int n = p.topK() > 0 ? Math.min(p.topK(), vocab) : vocab;
        double[] pr = new double[n];
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += i < n ? Math.exp((l[ids[i]] - l[ids[0]]) / p.temperature()) : 0;
        }
        for (int i = 0; i < n; i++) {
            pr[i] = Math.exp((l[ids[i]] - l[ids[0]]) / p.temperature());
        }
        if (p.topP() < 1) {
            double acc = 0;
            for (int i = 0; i < n; i++) {
                acc += pr[i] / sum;
                if (acc >= p.topP()) {
                    n = i + 1;
                    break;
                }
            }
        }
        if (p.minP() > 0) {
            int keep = 1;
            while (keep < n && pr[keep] >= p.minP() * pr[0]) {
                keep++;
            }
            n = keep;
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            total += pr[i];
        }
        double u = SplitMix64.uniform(seed, tokens.length - promptLen) * total;
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += pr[i];
            if (acc > u) {
                return ids[i];
            }
        }
        return ids[n - 1];
    }
}
