package io.stoker.llm.backend.cpu;

import io.stoker.llm.kv.KvCacheDescriptor;
import io.stoker.llm.tensor.Float16;
import io.stoker.llm.tensor.Q8;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels over heap scratch. The vector shape is fixed at 256 bits (8 floats) on every machine, and
 * every dot product is computed the same way whatever the batch:
 *
 * <pre>
 *   F32/F16/BF16:  acc = 0 (8 lanes); for each 8 columns c: acc = fma(w[c], x[c], acc)
 *                  result = ((lane0 + lane1) + lane2) ... + lane7; then scalar fma over the column tail
 *   Q8_0:          acc = 0; for each 32-column block: s = q0*x0; s = fma(q1, x1, s); s = fma(q2, x2, s);
 *                  s = fma(q3, x3, s); acc = fma(s, d, acc); result = lane sum as above
 * </pre>
 *
 * Lane sums are done in scalar code (not {@code reduceLanes}, whose order may differ between the interpreter and
 * compiled code), and {@code fma} is exact in both. So a result depends only on the row and the token's input:
 * batch size, token order and thread split change nothing.
 */
final class CpuKernels {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    static final VectorSpecies<Byte> B64 = ByteVector.SPECIES_64;
    static final VectorSpecies<Short> S128 = ShortVector.SPECIES_128;
    static final VectorSpecies<Integer> I256 = IntVector.SPECIES_256;
    static final int LANES = 8;

    private CpuKernels() {
    }

    static float laneSum(FloatVector v, float[] lanes) {
        v.intoArray(lanes, 0);
        float s = lanes[0];
        for (int i = 1; i < LANES; i++) {
            s += lanes[i];
        }
        return s;
    }

    private static float tail(float s, float[] w, int wo, float[] x, int xo, int from, int n) {
        for (int c = from; c < n; c++) {
            s = Math.fma(w[wo + c], x[xo + c], s);
        }
        return s;
    }

    /**
     * {@code y[t * yStride + r0 + r] = dot(w[r * n ..], x[t * xStride ..])} for a tile of {@code nr} rows. Register
     * blocks: 3 rows x 4 tokens (then 2 x 4, 1 x 4) while 4 tokens remain, then 4 rows x 1 token: every block runs the
     * same per-output arithmetic, so the block a (row, token) falls in never changes its bits.
     */
    static void f32Tile(float[] w, int nr, int n, float[] x, int xStride, int nTok, float[] y, int yStride, int r0,
                        float[] lanes) {
        int vEnd = n - n % LANES;
        int t = 0;
        for (; t + 4 <= nTok; t += 4) {
            int x0 = t * xStride;
            int x1 = x0 + xStride;
            int x2 = x1 + xStride;
            int x3 = x2 + xStride;
            int r = 0;
            for (; r + 3 <= nr; r += 3) { // 3 rows x 4 tokens: 12 accumulators; 7 loads feed 12 fmas
                int wa = r * n;
                int wb = wa + n;
                int wc = wb + n;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                FloatVector b0 = a0;
                FloatVector b1 = a0;
                FloatVector b2 = a0;
                FloatVector b3 = a0;
                FloatVector c0 = a0;
                FloatVector c1 = a0;
                FloatVector c2 = a0;
                FloatVector c3 = a0;
                for (int c = 0; c < vEnd; c += LANES) {
                    FloatVector v0 = FloatVector.fromArray(F, x, x0 + c);
                    FloatVector v1 = FloatVector.fromArray(F, x, x1 + c);
                    FloatVector v2 = FloatVector.fromArray(F, x, x2 + c);
                    FloatVector v3 = FloatVector.fromArray(F, x, x3 + c);
                    FloatVector wv = FloatVector.fromArray(F, w, wa + c);
                    a0 = wv.fma(v0, a0);
                    a1 = wv.fma(v1, a1);
                    a2 = wv.fma(v2, a2);
                    a3 = wv.fma(v3, a3);
                    wv = FloatVector.fromArray(F, w, wb + c);
                    b0 = wv.fma(v0, b0);
                    b1 = wv.fma(v1, b1);
                    b2 = wv.fma(v2, b2);
                    b3 = wv.fma(v3, b3);
                    wv = FloatVector.fromArray(F, w, wc + c);
                    c0 = wv.fma(v0, c0);
                    c1 = wv.fma(v1, c1);
                    c2 = wv.fma(v2, c2);
                    c3 = wv.fma(v3, c3);
                }
                int o = t * yStride + r0 + r;
                y[o] = tail(laneSum(a0, lanes), w, wa, x, x0, vEnd, n);
                y[o + yStride] = tail(laneSum(a1, lanes), w, wa, x, x1, vEnd, n);
                y[o + 2 * yStride] = tail(laneSum(a2, lanes), w, wa, x, x2, vEnd, n);
                y[o + 3 * yStride] = tail(laneSum(a3, lanes), w, wa, x, x3, vEnd, n);
                y[o + 1] = tail(laneSum(b0, lanes), w, wb, x, x0, vEnd, n);
                y[o + 1 + yStride] = tail(laneSum(b1, lanes), w, wb, x, x1, vEnd, n);
                y[o + 1 + 2 * yStride] = tail(laneSum(b2, lanes), w, wb, x, x2, vEnd, n);
                y[o + 1 + 3 * yStride] = tail(laneSum(b3, lanes), w, wb, x, x3, vEnd, n);
                y[o + 2] = tail(laneSum(c0, lanes), w, wc, x, x0, vEnd, n);
                y[o + 2 + yStride] = tail(laneSum(c1, lanes), w, wc, x, x1, vEnd, n);
                y[o + 2 + 2 * yStride] = tail(laneSum(c2, lanes), w, wc, x, x2, vEnd, n);
                y[o + 2 + 3 * yStride] = tail(laneSum(c3, lanes), w, wc, x, x3, vEnd, n);
            }
            for (; r + 2 <= nr; r += 2) { // 2 rows x 4 tokens: each loaded vector feeds 2 or 4 fmas
                int wo = r * n;
                int wp = wo + n;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = FloatVector.zero(F);
                FloatVector a2 = FloatVector.zero(F);
                FloatVector a3 = FloatVector.zero(F);
                FloatVector b0 = FloatVector.zero(F);
                FloatVector b1 = FloatVector.zero(F);
                FloatVector b2 = FloatVector.zero(F);
                FloatVector b3 = FloatVector.zero(F);
                for (int c = 0; c < vEnd; c += LANES) {
                    FloatVector wv = FloatVector.fromArray(F, w, wo + c);
                    FloatVector pv = FloatVector.fromArray(F, w, wp + c);
                    FloatVector v0 = FloatVector.fromArray(F, x, x0 + c);
                    FloatVector v1 = FloatVector.fromArray(F, x, x1 + c);
                    FloatVector v2 = FloatVector.fromArray(F, x, x2 + c);
                    FloatVector v3 = FloatVector.fromArray(F, x, x3 + c);
                    a0 = wv.fma(v0, a0);
                    a1 = wv.fma(v1, a1);
                    a2 = wv.fma(v2, a2);
                    a3 = wv.fma(v3, a3);
                    b0 = pv.fma(v0, b0);
                    b1 = pv.fma(v1, b1);
                    b2 = pv.fma(v2, b2);
                    b3 = pv.fma(v3, b3);
                }
                y[t * yStride + r0 + r] = tail(laneSum(a0, lanes), w, wo, x, x0, vEnd, n);
                y[(t + 1) * yStride + r0 + r] = tail(laneSum(a1, lanes), w, wo, x, x1, vEnd, n);
                y[(t + 2) * yStride + r0 + r] = tail(laneSum(a2, lanes), w, wo, x, x2, vEnd, n);
                y[(t + 3) * yStride + r0 + r] = tail(laneSum(a3, lanes), w, wo, x, x3, vEnd, n);
                y[t * yStride + r0 + r + 1] = tail(laneSum(b0, lanes), w, wp, x, x0, vEnd, n);
                y[(t + 1) * yStride + r0 + r + 1] = tail(laneSum(b1, lanes), w, wp, x, x1, vEnd, n);
                y[(t + 2) * yStride + r0 + r + 1] = tail(laneSum(b2, lanes), w, wp, x, x2, vEnd, n);
                y[(t + 3) * yStride + r0 + r + 1] = tail(laneSum(b3, lanes), w, wp, x, x3, vEnd, n);
            }
            for (; r < nr; r++) {
                int wo = r * n;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = FloatVector.zero(F);
                FloatVector a2 = FloatVector.zero(F);
                FloatVector a3 = FloatVector.zero(F);
                for (int c = 0; c < vEnd; c += LANES) {
                    FloatVector wv = FloatVector.fromArray(F, w, wo + c);
                    a0 = wv.fma(FloatVector.fromArray(F, x, x0 + c), a0);
                    a1 = wv.fma(FloatVector.fromArray(F, x, x1 + c), a1);
                    a2 = wv.fma(FloatVector.fromArray(F, x, x2 + c), a2);
                    a3 = wv.fma(FloatVector.fromArray(F, x, x3 + c), a3);
                }
                y[t * yStride + r0 + r] = tail(laneSum(a0, lanes), w, wo, x, x0, vEnd, n);
                y[(t + 1) * yStride + r0 + r] = tail(laneSum(a1, lanes), w, wo, x, x1, vEnd, n);
                y[(t + 2) * yStride + r0 + r] = tail(laneSum(a2, lanes), w, wo, x, x2, vEnd, n);
                y[(t + 3) * yStride + r0 + r] = tail(laneSum(a3, lanes), w, wo, x, x3, vEnd, n);
            }
        }
        for (; t < nTok; t++) {
            int xo = t * xStride;
            int r = 0;
            for (; r + 4 <= nr; r += 4) {
                int w0 = r * n;
                int w1 = w0 + n;
                int w2 = w1 + n;
                int w3 = w2 + n;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = FloatVector.zero(F);
                FloatVector a2 = FloatVector.zero(F);
                FloatVector a3 = FloatVector.zero(F);
                for (int c = 0; c < vEnd; c += LANES) {
                    FloatVector xv = FloatVector.fromArray(F, x, xo + c);
                    a0 = FloatVector.fromArray(F, w, w0 + c).fma(xv, a0);
                    a1 = FloatVector.fromArray(F, w, w1 + c).fma(xv, a1);
                    a2 = FloatVector.fromArray(F, w, w2 + c).fma(xv, a2);
                    a3 = FloatVector.fromArray(F, w, w3 + c).fma(xv, a3);
                }
                y[t * yStride + r0 + r] = tail(laneSum(a0, lanes), w, w0, x, xo, vEnd, n);
                y[t * yStride + r0 + r + 1] = tail(laneSum(a1, lanes), w, w1, x, xo, vEnd, n);
                y[t * yStride + r0 + r + 2] = tail(laneSum(a2, lanes), w, w2, x, xo, vEnd, n);
                y[t * yStride + r0 + r + 3] = tail(laneSum(a3, lanes), w, w3, x, xo, vEnd, n);
            }
            for (; r < nr; r++) {
                int wo = r * n;
                FloatVector a0 = FloatVector.zero(F);
                for (int c = 0; c < vEnd; c += LANES) {
                    a0 = FloatVector.fromArray(F, w, wo + c).fma(FloatVector.fromArray(F, x, xo + c), a0);
                }
                y[t * yStride + r0 + r] = tail(laneSum(a0, lanes), w, wo, x, xo, vEnd, n);
            }
        }
    }

    /** Widens {@code n} F16 values to F32 (exact). */
    static void f16ToF32(short[] h, float[] out, int n) {
        int vEnd = n - n % LANES;
        for (int i = 0; i < vEnd; i += LANES) {
            IntVector bits = (IntVector) ShortVector.fromArray(S128, h, i).convertShape(VectorOperators.S2I, I256, 0);
            IntVector sign = bits.and(0x8000).lanewise(VectorOperators.LSHL, 16);
            IntVector em = bits.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
            // exponent+mantissa shifted into place, rescaled by 2^112: exact for normals and subnormals
            FloatVector v = em.reinterpretAsFloats().mul(0x1p112f);
            IntVector r = v.reinterpretAsInts();
            VectorMask<Integer> special = bits.and(0x7c00).compare(VectorOperators.EQ, 0x7c00);
            r = r.blend(em.or(0x7f800000), special); // infinities and NaN
            r.or(sign).reinterpretAsFloats().intoArray(out, i);
        }
        for (int i = vEnd; i < n; i++) {
            out[i] = Float16.toFloat(h[i]);
        }
    }

    /** Widens {@code n} BF16 values to F32 (exact). */
    static void bf16ToF32(short[] h, float[] out, int n) {
        int vEnd = n - n % LANES;
        for (int i = 0; i < vEnd; i += LANES) {
            IntVector bits = (IntVector) ShortVector.fromArray(S128, h, i).convertShape(VectorOperators.S2I, I256, 0);
            bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(out, i);
        }
        for (int i = vEnd; i < n; i++) {
            out[i] = Float16.bf16ToFloat(h[i]);
        }
    }

    /** Q8_0 rows times one token: {@code y[r0 + r] = dot(row r, x)}, int8 widened in registers. */
    static void q8TileOneToken(byte[] b, int nr, int n, float[] x, float[] y, int r0, float[] lanes) {
        int nb = n / Q8.BLOCK;
        int rowBytes = nb * Q8.BLOCK_BYTES;
        for (int r = 0; r < nr; r++) {
            FloatVector acc = FloatVector.zero(F);
            int ro = r * rowBytes;
            for (int blk = 0; blk < nb; blk++) {
                int o = ro + blk * Q8.BLOCK_BYTES;
                float d = Q8.scale(b, o);
                int xo = blk * Q8.BLOCK;
                FloatVector q0 = (FloatVector) ByteVector.fromArray(B64, b, o + 2).convertShape(VectorOperators.B2F, F, 0);
                FloatVector q1 = (FloatVector) ByteVector.fromArray(B64, b, o + 10).convertShape(VectorOperators.B2F, F, 0);
                FloatVector q2 = (FloatVector) ByteVector.fromArray(B64, b, o + 18).convertShape(VectorOperators.B2F, F, 0);
                FloatVector q3 = (FloatVector) ByteVector.fromArray(B64, b, o + 26).convertShape(VectorOperators.B2F, F, 0);
                FloatVector s = q0.mul(FloatVector.fromArray(F, x, xo));
                s = q1.fma(FloatVector.fromArray(F, x, xo + 8), s);
                s = q2.fma(FloatVector.fromArray(F, x, xo + 16), s);
                s = q3.fma(FloatVector.fromArray(F, x, xo + 24), s);
                acc = s.fma(FloatVector.broadcast(F, d), acc);
            }
            y[r0 + r] = laneSum(acc, lanes);
        }
    }

    /** Splits {@code n} Q8_0 values into int8 values as floats ({@code q}) and per-block scales ({@code d}). */
    static void q8Widen(byte[] b, int n, float[] q, float[] d) {
        int nb = n / Q8.BLOCK;
        for (int blk = 0; blk < nb; blk++) {
            int o = blk * Q8.BLOCK_BYTES;
            d[blk] = Q8.scale(b, o);
            int qo = blk * Q8.BLOCK;
            for (int j = 0; j < Q8.BLOCK; j += LANES) {
                ((FloatVector) ByteVector.fromArray(B64, b, o + 2 + j).convertShape(VectorOperators.B2F, F, 0))
                        .intoArray(q, qo + j);
            }
        }
    }

    /**
     * Q8_0 rows (widened by {@link #q8Widen}) times {@code nTok} tokens; the same arithmetic per (row, token) as the
     * one-token path. Register blocks of 2 rows x 4 tokens share each loaded vector.
     */
    static void q8Tile(float[] q, float[] d, int nr, int n, float[] x, int xStride, int nTok, float[] y, int yStride,
                       int r0, float[] lanes) {
        int nb = n / Q8.BLOCK;
        int t = 0;
        for (; t + 4 <= nTok; t += 4) {
            int x0 = t * xStride;
            int x1 = x0 + xStride;
            int x2 = x1 + xStride;
            int x3 = x2 + xStride;
            int r = 0;
            for (; r + 2 <= nr; r += 2) {
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = FloatVector.zero(F);
                FloatVector a2 = FloatVector.zero(F);
                FloatVector a3 = FloatVector.zero(F);
                FloatVector b0 = FloatVector.zero(F);
                FloatVector b1 = FloatVector.zero(F);
                FloatVector b2 = FloatVector.zero(F);
                FloatVector b3 = FloatVector.zero(F);
                for (int blk = 0; blk < nb; blk++) {
                    int qa = r * n + blk * Q8.BLOCK;
                    int qb = qa + n;
                    int xo = blk * Q8.BLOCK;
                    FloatVector da = FloatVector.broadcast(F, d[r * nb + blk]);
                    FloatVector db = FloatVector.broadcast(F, d[(r + 1) * nb + blk]);
                    FloatVector sa0;
                    FloatVector sa1;
                    FloatVector sa2;
                    FloatVector sa3;
                    FloatVector sb0;
                    FloatVector sb1;
                    FloatVector sb2;
                    FloatVector sb3;
                    {
                        FloatVector qv = FloatVector.fromArray(F, q, qa);
                        FloatVector pv = FloatVector.fromArray(F, q, qb);
                        FloatVector v0 = FloatVector.fromArray(F, x, x0 + xo);
                        FloatVector v1 = FloatVector.fromArray(F, x, x1 + xo);
                        FloatVector v2 = FloatVector.fromArray(F, x, x2 + xo);
                        FloatVector v3 = FloatVector.fromArray(F, x, x3 + xo);
                        sa0 = qv.mul(v0);
                        sa1 = qv.mul(v1);
                        sa2 = qv.mul(v2);
                        sa3 = qv.mul(v3);
                        sb0 = pv.mul(v0);
                        sb1 = pv.mul(v1);
                        sb2 = pv.mul(v2);
                        sb3 = pv.mul(v3);
                    }
                    for (int j = 8; j < Q8.BLOCK; j += 8) {
                        FloatVector qv = FloatVector.fromArray(F, q, qa + j);
                        FloatVector pv = FloatVector.fromArray(F, q, qb + j);
                        FloatVector v0 = FloatVector.fromArray(F, x, x0 + xo + j);
                        FloatVector v1 = FloatVector.fromArray(F, x, x1 + xo + j);
                        FloatVector v2 = FloatVector.fromArray(F, x, x2 + xo + j);
                        FloatVector v3 = FloatVector.fromArray(F, x, x3 + xo + j);
                        sa0 = qv.fma(v0, sa0);
                        sa1 = qv.fma(v1, sa1);
                        sa2 = qv.fma(v2, sa2);
                        sa3 = qv.fma(v3, sa3);
                        sb0 = pv.fma(v0, sb0);
                        sb1 = pv.fma(v1, sb1);
                        sb2 = pv.fma(v2, sb2);
                        sb3 = pv.fma(v3, sb3);
                    }
                    a0 = sa0.fma(da, a0);
                    a1 = sa1.fma(da, a1);
                    a2 = sa2.fma(da, a2);
                    a3 = sa3.fma(da, a3);
                    b0 = sb0.fma(db, b0);
                    b1 = sb1.fma(db, b1);
                    b2 = sb2.fma(db, b2);
                    b3 = sb3.fma(db, b3);
                }
                y[t * yStride + r0 + r] = laneSum(a0, lanes);
                y[(t + 1) * yStride + r0 + r] = laneSum(a1, lanes);
                y[(t + 2) * yStride + r0 + r] = laneSum(a2, lanes);
                y[(t + 3) * yStride + r0 + r] = laneSum(a3, lanes);
                y[t * yStride + r0 + r + 1] = laneSum(b0, lanes);
                y[(t + 1) * yStride + r0 + r + 1] = laneSum(b1, lanes);
                y[(t + 2) * yStride + r0 + r + 1] = laneSum(b2, lanes);
                y[(t + 3) * yStride + r0 + r + 1] = laneSum(b3, lanes);
            }
            for (; r < nr; r++) {
                for (int k = 0; k < 4; k++) {
                    y[(t + k) * yStride + r0 + r] = q8Row(q, d, r, n, nb, x, (t + k) * xStride, lanes);
                }
            }
        }
        for (; t < nTok; t++) {
            for (int r = 0; r < nr; r++) {
                y[t * yStride + r0 + r] = q8Row(q, d, r, n, nb, x, t * xStride, lanes);
            }
        }
    }

    private static float q8Row(float[] q, float[] d, int r, int n, int nb, float[] x, int x0, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F);
        for (int blk = 0; blk < nb; blk++) {
            int qo = r * n + blk * Q8.BLOCK;
            int xo = x0 + blk * Q8.BLOCK;
            FloatVector s = FloatVector.fromArray(F, q, qo).mul(FloatVector.fromArray(F, x, xo));
            s = FloatVector.fromArray(F, q, qo + 8).fma(FloatVector.fromArray(F, x, xo + 8), s);
            s = FloatVector.fromArray(F, q, qo + 16).fma(FloatVector.fromArray(F, x, xo + 16), s);
            s = FloatVector.fromArray(F, q, qo + 24).fma(FloatVector.fromArray(F, x, xo + 24), s);
            a0 = s.fma(FloatVector.broadcast(F, d[r * nb + blk]), a0);
        }
        return laneSum(a0, lanes);
    }

    /** Dot product of {@code n} floats, same order as the matmul kernels. */
    static float dot(float[] a, int ao, float[] b, int bo, int n, float[] lanes) {
        int vEnd = n - n % LANES;
        FloatVector acc = FloatVector.zero(F);
        for (int c = 0; c < vEnd; c += LANES) {
            acc = FloatVector.fromArray(F, a, ao + c).fma(FloatVector.fromArray(F, b, bo + c), acc);
        }
        return tail(laneSum(acc, lanes), a, ao, b, bo, vEnd, n);
    }

    /**
     * One query head over positions {@code [start, pos]} of one sequence: softmax(q.k * scale) weighted sum of v,
     * written to {@code out[oo .. oo + hd)}. Positions are visited in increasing order.
     */
    static void attendOne(float[] q, int qo, int hd, float[] keys, float[] values, int[] table, int bs, int kvHeads,
                          int kvh, int start, int pos, float scale, float[] sc, float[] out, int oo, float[] lanes,
                          float[] acc) {
        float max = Float.NEGATIVE_INFINITY;
        for (int p = start; p <= pos; p++) {
            int ko = KvCacheDescriptor.offset(table[p / bs], kvh, p % bs, kvHeads, bs, hd);
            float s = dot(q, qo, keys, ko, hd, lanes) * scale;
            sc[p - start] = s;
            max = Math.max(max, s);
        }
        float sum = 0f;
        int n = pos - start + 1;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(sc[i] - max);
            sc[i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        int vEnd = hd - hd % LANES;
        java.util.Arrays.fill(acc, 0, hd, 0f);
        for (int p = start; p <= pos; p++) {
            float wgt = sc[p - start] * inv;
            int vo = KvCacheDescriptor.offset(table[p / bs], kvh, p % bs, kvHeads, bs, hd);
            FloatVector wv = FloatVector.broadcast(F, wgt);
            for (int c = 0; c < vEnd; c += LANES) {
                FloatVector.fromArray(F, values, vo + c).fma(wv, FloatVector.fromArray(F, acc, c)).intoArray(acc, c);
            }
            for (int c = vEnd; c < hd; c++) {
                acc[c] = Math.fma(values[vo + c], wgt, acc[c]);
            }
        }
        System.arraycopy(acc, 0, out, oo, hd);
    }

    /** binary16 bits to float, all 65536 values (exact; see {@link Float16#toFloat}). */
    private static final float[] F16_TABLE = new float[1 << 16];

    static {
        for (int i = 0; i < F16_TABLE.length; i++) {
            F16_TABLE[i] = Float16.toFloat((short) i);
        }
    }

    /** Widens {@code n} binary16 values from {@code h[ho ..]} into {@code out[0 .. n)}. */
    static void widenF16(short[] h, int ho, float[] out, int n) {
        for (int i = 0; i < n; i++) {
            out[i] = F16_TABLE[h[ho + i] & 0xffff];
        }
    }

    /**
     * {@link #attendOne} over a binary16 cache: each key and value row is widened to f32 exactly, then the same
     * arithmetic in the same order runs, so the result equals f32 attention over the rounded values.
     */
    static void attendOneF16(float[] q, int qo, int hd, short[] keys, short[] values, int[] table, int bs,
                             int kvHeads, int kvh, int start, int pos, float scale, float[] sc, float[] out, int oo,
                             float[] lanes, float[] acc, float[] row) {
        float max = Float.NEGATIVE_INFINITY;
        for (int p = start; p <= pos; p++) {
            int ko = KvCacheDescriptor.offset(table[p / bs], kvh, p % bs, kvHeads, bs, hd);
            widenF16(keys, ko, row, hd);
            float s = dot(q, qo, row, 0, hd, lanes) * scale;
            sc[p - start] = s;
            max = Math.max(max, s);
        }
        float sum = 0f;
        int n = pos - start + 1;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(sc[i] - max);
            sc[i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        int vEnd = hd - hd % LANES;
        java.util.Arrays.fill(acc, 0, hd, 0f);
        for (int p = start; p <= pos; p++) {
            float wgt = sc[p - start] * inv;
            int vo = KvCacheDescriptor.offset(table[p / bs], kvh, p % bs, kvHeads, bs, hd);
            widenF16(values, vo, row, hd);
            FloatVector wv = FloatVector.broadcast(F, wgt);
            for (int c = 0; c < vEnd; c += LANES) {
                FloatVector.fromArray(F, row, c).fma(wv, FloatVector.fromArray(F, acc, c)).intoArray(acc, c);
            }
            for (int c = vEnd; c < hd; c++) {
                acc[c] = Math.fma(row[c], wgt, acc[c]);
            }
        }
        System.arraycopy(acc, 0, out, oo, hd);
    }
}
