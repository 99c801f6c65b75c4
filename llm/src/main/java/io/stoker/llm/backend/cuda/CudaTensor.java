package io.stoker.llm.backend.cuda;

import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.Tensor;
import io.stoker.runtime.cuda.CudaDataType;
import io.stoker.runtime.cuda.DeviceBuffer;

/**
 * A weight uploaded to the device: matrices keep their element type (F32, F16, BF16), vectors (norms, biases) are
 * f32. Row-major {@code [rows, cols]} like the file.
 */
final class CudaTensor implements Tensor {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final int rows;
    private final int cols;
    final DeviceBuffer buffer;

    CudaTensor(String name, DType dtype, long[] shape, int rows, int cols, DeviceBuffer buffer) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.rows = rows;
        this.cols = cols;
        this.buffer = buffer;
    }

    CudaDataType cudaType() {
        return cudaType(dtype);
    }

    static CudaDataType cudaType(DType t) {
        return switch (t) {
            case F32 -> CudaDataType.F32;
            case F16 -> CudaDataType.F16;
            case BF16 -> CudaDataType.BF16;
            default -> throw new IllegalArgumentException("the CUDA backend runs F32, F16 and BF16 weights, not " + t
                    + "; use a model stored in one of them");
        };
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

    @Override
    public String toString() {
        return "CudaTensor[" + name + " " + dtype + " " + rows + "x" + cols + "]";
    }
}
