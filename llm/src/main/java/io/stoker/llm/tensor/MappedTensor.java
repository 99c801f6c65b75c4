package io.stoker.llm.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;

/**
 * A tensor whose bytes live in memory-mapped file regions (never copied to the Java heap). Rows are contiguous;
 * a row never straddles two mapped chunks, so large tensors (over 2 GiB) are simply several chunks.
 *
 * <p>Thread-safety: immutable after construction; the buffers are only read with absolute bulk gets, which are
 * safe from many threads.
 */
public final class MappedTensor implements Tensor {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final int rows;
    private final int cols;
    private final long rowBytes;
    private final int rowsPerChunk;
    private final ByteBuffer[] chunks;
    private final FloatBuffer[] floatViews;
    private final ShortBuffer[] shortViews;

    public MappedTensor(String name, DType dtype, long[] shape, ByteBuffer[] chunks, int rowsPerChunk) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        long c = shape.length == 0 ? 1 : shape[shape.length - 1];
        long r = 1;
        for (int i = 0; i < shape.length - 1; i++) {
            r *= shape[i];
        }
        if (r > Integer.MAX_VALUE || c > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor '" + name + "' shape " + Arrays.toString(shape)
                    + " has more than 2^31 rows or columns");
        }
        if (c % dtype.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "' has " + c + " columns, not a multiple of the "
                    + dtype + " block size " + dtype.blockSize());
        }
        this.rows = (int) r;
        this.cols = (int) c;
        this.rowBytes = dtype.bytesFor(c);
        this.rowsPerChunk = rowsPerChunk;
        this.chunks = chunks;
        this.floatViews = new FloatBuffer[chunks.length];
        this.shortViews = new ShortBuffer[chunks.length];
        for (int i = 0; i < chunks.length; i++) {
            ByteBuffer b = chunks[i].duplicate().order(ByteOrder.LITTLE_ENDIAN);
            chunks[i] = b;
            if (dtype == DType.F32) {
                floatViews[i] = b.asFloatBuffer();
            } else if (dtype == DType.F16 || dtype == DType.BF16) {
                shortViews[i] = b.asShortBuffer();
            }
        }
    }

    /** @return how many whole rows fit in one mapping of at most {@code maxChunkBytes} */
    public static int rowsPerChunk(DType dtype, long cols, long maxChunkBytes) {
        long rb = Math.max(1, dtype.bytesFor(cols));
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, maxChunkBytes / rb));
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    public long rowBytes() {
        return rowBytes;
    }

    public long sizeBytes() {
        return rowBytes * rows;
    }

    /** Copies {@code n} F32 elements of {@code row} starting at column {@code col} into {@code dst[off..]}. */
    public void getF32(int row, int col, float[] dst, int off, int n) {
        int c = row / rowsPerChunk;
        long e = (long) (row - c * rowsPerChunk) * cols + col;
        floatViews[c].get((int) e, dst, off, n);
    }

    /**
     * Copies rows {@code [row, row + nRows)} (all columns) into {@code dst[off..]}, with one bulk copy per mapped
     * chunk they span.
     */
    public void getRowsF32(int row, int nRows, float[] dst, int off) {
        while (nRows > 0) {
            int c = row / rowsPerChunk;
            int inChunk = Math.min(nRows, (c + 1) * rowsPerChunk - row);
            floatViews[c].get((row - c * rowsPerChunk) * cols, dst, off, inChunk * cols);
            row += inChunk;
            nRows -= inChunk;
            off += inChunk * cols;
        }
    }

    /** Like {@link #getRowsF32} for 16-bit types. */
    public void getRowsU16(int row, int nRows, short[] dst, int off) {
        while (nRows > 0) {
            int c = row / rowsPerChunk;
            int inChunk = Math.min(nRows, (c + 1) * rowsPerChunk - row);
            shortViews[c].get((row - c * rowsPerChunk) * cols, dst, off, inChunk * cols);
            row += inChunk;
            nRows -= inChunk;
            off += inChunk * cols;
        }
    }

    /** Like {@link #getRowsF32} for raw bytes (block types). */
    public void getRowsBytes(int row, int nRows, byte[] dst, int off) {
        while (nRows > 0) {
            int c = row / rowsPerChunk;
            int inChunk = Math.min(nRows, (c + 1) * rowsPerChunk - row);
            chunks[c].get((int) ((row - c * rowsPerChunk) * rowBytes), dst, off, (int) (inChunk * rowBytes));
            row += inChunk;
            nRows -= inChunk;
            off += (int) (inChunk * rowBytes);
        }
    }

    /** Copies {@code n} 16-bit elements (F16 or BF16 bits) of {@code row} from column {@code col}. */
    public void getU16(int row, int col, short[] dst, int off, int n) {
        int c = row / rowsPerChunk;
        long e = (long) (row - c * rowsPerChunk) * cols + col;
        shortViews[c].get((int) e, dst, off, n);
    }

    /**
     * Copies the raw bytes of {@code row} for columns {@code [col, col + n)}; for block types both must be
     * multiples of the block size.
     */
    public void getBytes(int row, int col, byte[] dst, int off, int n) {
        int c = row / rowsPerChunk;
        long b = (long) (row - c * rowsPerChunk) * rowBytes + dtype.bytesFor(col);
        chunks[c].get((int) b, dst, off, (int) dtype.bytesFor(n));
    }

    /** Dequantizes one whole row into {@code dst[off..off+cols)} (slow path: norms, biases, embeddings). */
    public void dequantizeRow(int row, float[] dst, int off) {
        dequantize(row, 0, cols, dst, off);
    }

    /** Dequantizes columns {@code [col, col+n)} of {@code row} into {@code dst[off..]}. */
    public void dequantize(int row, int col, int n, float[] dst, int off) {
        switch (dtype) {
            case F32:
                getF32(row, col, dst, off, n);
                break;
            case F16: {
                short[] s = new short[n];
                getU16(row, col, s, 0, n);
                for (int i = 0; i < n; i++) {
                    dst[off + i] = Float16.toFloat(s[i]);
                }
                break;
            }
            case BF16: {
                short[] s = new short[n];
                getU16(row, col, s, 0, n);
                for (int i = 0; i < n; i++) {
                    dst[off + i] = Float16.bf16ToFloat(s[i]);
                }
                break;
            }
            case Q8_0: {
                byte[] b = new byte[(int) dtype.bytesFor(n)];
                getBytes(row, col, b, 0, n);
                Q8.dequantize(b, 0, n, dst, off);
                break;
            }
            default:
                throw new IllegalStateException(dtype.toString());
        }
    }

    /** Dequantizes the whole tensor (small tensors only: norms and biases). */
    public float[] toFloatArray() {
        if (elements() > Integer.MAX_VALUE - 16) {
            throw new IllegalStateException("tensor '" + name + "' is too large to copy to the heap");
        }
        float[] out = new float[(int) elements()];
        for (int r = 0; r < rows; r++) {
            dequantizeRow(r, out, r * cols);
        }
        return out;
    }

    /** The mapped buffers, for unmapping by their owner. */
    ByteBuffer[] chunks() {
        return chunks;
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape);
    }
}
