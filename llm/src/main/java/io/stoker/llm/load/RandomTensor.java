package io.stoker.llm.load;

import io.stoker.llm.sample.SplitMix64;
import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.Float16;
import io.stoker.llm.tensor.MappedTensor;
import io.stoker.llm.tensor.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A weight of a {@code random:} model: no bytes anywhere until a backend prepares it. A device backend fills it where
 * it lives with a kernel (an 8B-parameter model costs no file and no host memory); the CPU backend
 * {@linkplain #materialize() materializes} it. Both compute the same bits: element {@code i} is
 * {@code (float) ((h >>> 40) - 2^23 + bias) * step} with {@code h} the SplitMix64 finaliser of
 * {@code seed + (i + 1) * gamma} (integer arithmetic, one int-to-float conversion, one float multiply), rounded to
 * nearest even into the element type. Values are uniform in {@code [bias - 2^23, bias + 2^23) * step}.
 *
 * @param name  Hugging Face name
 * @param dtype F32, F16 or BF16
 * @param rows  rows (1 for a vector)
 * @param cols  columns
 * @param seed  this tensor's stream (the model seed mixed with the name)
 * @param bias  added to the integer draw (sets the mean: {@code bias * step})
 * @param step  value of one integer unit
 */
public record RandomTensor(String name, DType dtype, int rows, int cols, long seed, long bias, float step)
        implements Tensor {
    private static final double HALF_RANGE = 8388608.0; // 2^23

    public RandomTensor {
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new IllegalArgumentException("random tensor '" + name + "': dtype " + dtype
                    + " is not supported; use F32, F16 or BF16");
        }
        if (rows < 1 || cols < 1) {
            throw new IllegalArgumentException("random tensor '" + name + "' of " + rows + " x " + cols);
        }
    }

    /** Values uniform in {@code mean ± halfWidth}, in a stream of {@code modelSeed} named by {@code name}. */
    public static RandomTensor uniform(String name, DType dtype, int rows, int cols, long modelSeed, double mean,
                                       double halfWidth) {
        float step = (float) (halfWidth / HALF_RANGE);
        long bias = Math.round(mean / step);
        return new RandomTensor(name, dtype, rows, cols, SplitMix64.mix(modelSeed, name.hashCode()), bias, step);
    }

    @Override
    public long[] shape() {
        return rows == 1 ? new long[] {cols} : new long[] {rows, cols};
    }

    /** Element {@code i} (row-major) as f32, before rounding to {@link #dtype}. */
    public float value(long i) {
        long r = (SplitMix64.mix(seed, i) >>> 40) - 8388608L + bias;
        return (float) r * step;
    }

    /** The tensor in host memory (direct buffers), as the CPU backend reads weights. */
    public MappedTensor materialize() {
        int elem = dtype == DType.F32 ? 4 : 2;
        long rowBytes = (long) cols * elem;
        int rowsPerChunk = MappedTensor.rowsPerChunk(dtype, cols, 1L << 30);
        int chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
        ByteBuffer[] buffers = new ByteBuffer[chunks];
        for (int c = 0; c < chunks; c++) {
            int r0 = c * rowsPerChunk;
            int nr = Math.min(rowsPerChunk, rows - r0);
            ByteBuffer b = ByteBuffer.allocateDirect((int) (nr * rowBytes)).order(ByteOrder.LITTLE_ENDIAN);
            long base = (long) r0 * cols;
            for (int i = 0; i < nr * cols; i++) {
                float v = value(base + i);
                switch (dtype) {
                    case F32 -> b.putFloat(4 * i, v);
                    case F16 -> b.putShort(2 * i, Float16.fromFloat(v));
                    default -> b.putShort(2 * i, Float16.floatToBf16(v));
                }
            }
            buffers[c] = b;
        }
        return new MappedTensor(name, dtype, shape(), buffers, rowsPerChunk);
    }
}
