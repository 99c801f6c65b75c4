package io.stoker.llm.backend.cpu;

import io.stoker.llm.backend.Backend;
import io.stoker.llm.kv.KvCache;
import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.MappedTensor;
import io.stoker.llm.tensor.Tensor;

/**
 * CPU backend: memory-mapped weights, a {@link WorkerPool}, and Vector API kernels ({@link CpuKernels}).
 *
 * <p>A matrix product runs over tiles of {@value #TILE} weight rows. Each tile is bulk-copied from the mapped file
 * into the worker's scratch (heap arrays vectorize well on Java 17; mapped buffers do not), F16/BF16 are widened to
 * F32 there, Q8_0 blocks keep their int8 values (widened once per tile when several tokens share it). The scratch
 * fits in L1/L2, so each weight byte is read from memory once per call however many tokens there are.
 *
 * <p>Thread-safety: one thread calls it at a time; the pool's threads run the kernels.
 */
public final class CpuBackend implements Backend {
    static final int TILE = 8; // 8 rows of 576 f32 = 18 KiB: the tile stays in L1 (16 and 32 measured slower)

    private final WorkerPool pool;
    private final Scratch[] scratch;

    /** Per-thread buffers, grown on demand. */
    static final class Scratch {
        float[] tileF = new float[0];
        short[] tileS = new short[0];
        byte[] tileB = new byte[0];
        float[] scales = new float[0];
        float[] lanes = new float[CpuKernels.LANES];
        float[] scores = new float[0];
        float[] acc = new float[0];

        float[] tileF(int n) {
            if (tileF.length < n) {
                tileF = new float[n];
            }
            return tileF;
        }

        short[] tileS(int n) {
            if (tileS.length < n) {
                tileS = new short[n];
            }
            return tileS;
        }

        byte[] tileB(int n) {
            if (tileB.length < n) {
                tileB = new byte[n];
            }
            return tileB;
        }

        float[] scales(int n) {
            if (scales.length < n) {
                scales = new float[n];
            }
            return scales;
        }

        float[] scores(int n) {
            if (scores.length < n) {
                scores = new float[Math.max(n, 256)];
            }
            return scores;
        }

        float[] acc(int n) {
            if (acc.length < n) {
                acc = new float[n];
            }
            return acc;
        }
    }

    public CpuBackend(int threads) {
        this.pool = new WorkerPool(threads, "stoker-cpu");
        this.scratch = new Scratch[threads];
        for (int i = 0; i < threads; i++) {
            scratch[i] = new Scratch();
        }
    }

    /** A backend with one thread per available processor. */
    public static CpuBackend create() {
        return new CpuBackend(Runtime.getRuntime().availableProcessors());
    }

    @Override
    public int threads() {
        return pool.threads();
    }

    @Override
    public void matmul(Tensor tensor, int row0, int nRows, int col0, int nCols, float[] x, int xStride, int nTok,
                       float[] y, int yStride) {
        MappedTensor w = (MappedTensor) tensor;
        if (row0 < 0 || row0 + nRows > w.rows() || col0 < 0 || col0 + nCols > w.cols()) {
            throw new IllegalArgumentException("matmul on '" + w.name() + "' rows [" + row0 + ", " + (row0 + nRows)
                    + ") cols [" + col0 + ", " + (col0 + nCols) + ") outside " + w.rows() + "x" + w.cols());
        }
        int tiles = (nRows + TILE - 1) / TILE;
        DType dt = w.dtype();
        boolean fullRows = col0 == 0 && nCols == w.cols();
        pool.parallelFor(tiles, (tile, worker) -> {
            Scratch s = scratch[worker];
            int r0 = tile * TILE;
            int nr = Math.min(TILE, nRows - r0);
            switch (dt) {
                case F32: {
                    float[] t = s.tileF(nr * nCols);
                    if (fullRows) {
                        w.getRowsF32(row0 + r0, nr, t, 0);
                    } else {
                        for (int r = 0; r < nr; r++) {
                            w.getF32(row0 + r0 + r, col0, t, r * nCols, nCols);
                        }
                    }
                    CpuKernels.f32Tile(t, nr, nCols, x, xStride, nTok, y, yStride, r0, s.lanes);
                    break;
                }
                case F16:
                case BF16: {
                    short[] h = s.tileS(nr * nCols);
                    float[] t = s.tileF(nr * nCols);
                    if (fullRows) {
                        w.getRowsU16(row0 + r0, nr, h, 0);
                    } else {
                        for (int r = 0; r < nr; r++) {
                            w.getU16(row0 + r0 + r, col0, h, r * nCols, nCols);
                        }
                    }
                    if (dt == DType.F16) {
                        CpuKernels.f16ToF32(h, t, nr * nCols);
                    } else {
                        CpuKernels.bf16ToF32(h, t, nr * nCols);
                    }
                    CpuKernels.f32Tile(t, nr, nCols, x, xStride, nTok, y, yStride, r0, s.lanes);
                    break;
                }
                case Q8_0: {
                    int rowBytes = (int) DType.Q8_0.bytesFor(nCols);
                    byte[] b = s.tileB(nr * rowBytes);
                    if (fullRows) {
                        w.getRowsBytes(row0 + r0, nr, b, 0);
                    } else {
                        for (int r = 0; r < nr; r++) {
                            w.getBytes(row0 + r0 + r, col0, b, r * rowBytes, nCols);
                        }
                    }
                    if (nTok == 1) {
                        CpuKernels.q8TileOneToken(b, nr, nCols, x, y, r0, s.lanes);
                    } else {
                        float[] q = s.tileF(nr * nCols);
                        float[] d = s.scales(nr * nCols / 32);
                        CpuKernels.q8Widen(b, nr * nCols, q, d);
                        CpuKernels.q8Tile(q, d, nr, nCols, x, xStride, nTok, y, yStride, r0, s.lanes);
                    }
                    break;
                }
                default:
                    throw new IllegalStateException("unsupported dtype " + dt);
            }
        });
    }

    @Override
    public void embed(Tensor table, int[] tokens, int nTok, float[] out) {
        MappedTensor t = (MappedTensor) table;
        int dim = t.cols();
        for (int i = 0; i < nTok; i++) {
            int id = tokens[i];
            if (id < 0 || id >= t.rows()) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + t.rows()
                        + ") of '" + t.name() + "'");
            }
            t.dequantizeRow(id, out, i * dim);
        }
    }

    @Override
    public void attention(float[] q, int nTok, int nHeads, int headDim, int[] positions, int[] tokenSeq,
                          int[][] blockTables, KvCache cache, int layer, int window, float[] out) {
        int kvHeads = cache.kvHeads();
        int group = nHeads / kvHeads;
        int qStride = nHeads * headDim;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        float[] keys = cache.keys(layer);
        float[] values = cache.values(layer);
        int bs = cache.blockSize();
        pool.parallelFor(nTok * nHeads, (job, worker) -> {
            int t = job / nHeads;
            int h = job % nHeads;
            int kvh = h / group;
            int pos = positions[t];
            int start = window > 0 ? Math.max(0, pos - window + 1) : 0;
            Scratch s = scratch[worker];
            float[] sc = s.scores(pos + 1);
            int[] table = blockTables[tokenSeq[t]];
            int qo = t * qStride + h * headDim;
            CpuKernels.attendOne(q, qo, headDim, keys, values, table, bs, kvHeads, kvh, start, pos, scale, sc,
                    out, qo, s.lanes, s.acc(headDim));
        });
    }

    @Override
    public void close() {
        pool.close();
    }
}
