package io.stoker.llm.backend.cpu;

import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.Tensor;

/** A small weight (norm, bias) dequantized to a heap array once, when the model is built. */
final class CpuVector implements Tensor {
    private final String name;
    private final long[] shape;
    final float[] data;

    CpuVector(String name, long[] shape, float[] data) {
        this.name = name;
        this.shape = shape.clone();
        this.data = data;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public DType dtype() {
        return DType.F32;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public int rows() {
        return 1;
    }

    @Override
    public int cols() {
        return data.length;
    }
}
