package io.stoker.llm.backend.cpu;

import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.MappedTensor;

/**
 * Matrix products of mapped weights with heap activations, over tiles of {@value #TILE} weight rows. Each tile is
 * bulk-copied from the mapped file into the worker's scratch (heap arrays vectorize well on Java 17; mapped buffers do
 * not); F16/BF16 are widened to F32 there, Q8_0 blocks keep their int8 values (widened once per tile when several
 * tokens share it). The scratch fits in L1/L2, so each weight byte is read from memory once per call however many
 * tokens there are.
 */
final class CpuMatmul {
    /** Rows per tile: a multiple of the kernels' row blocks (3 and 4 for F32, 2 for Q8_0). */
    static final int TILE = 12; // 12 rows of 576 f32 = 27 KiB (8 and 24 measured slower at 32 tokens or 1)

    private CpuMatmul() {
    }

    /** {@code y[t * yStride + r] = sum_c W[row0 + r][col0 + c] * x[t * xStride + c]}. */
    static void run(WorkerPool pool, Scratch[] scratch, MappedTensor w, int row0, int nRows, int col0, int nCols,
                    float[] x, int xStride, int nTok, float[] y, int yStride) {
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
}
