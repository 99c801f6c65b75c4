package io.stoker.llm.backend.cuda;

import io.stoker.llm.backend.Activation;
import io.stoker.runtime.cuda.DeviceBuffer;

/**
 * An activation in device memory: {@code maxRows * cols} f32 values, row-major. {@link #version} counts writes, so
 * the backend converts an input to bf16/f16 once however many GEMMs read it.
 */
final class CudaActivation implements Activation {
    final String name;
    final DeviceBuffer buffer;
    final int maxRows;
    final int cols;
    long version;

    CudaActivation(String name, DeviceBuffer buffer, int maxRows, int cols) {
        this.name = name;
        this.buffer = buffer;
        this.maxRows = maxRows;
        this.cols = cols;
    }

    /** Marks the contents changed (every op that writes this activation calls it). */
    void written() {
        version++;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int maxRows() {
        return maxRows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public String toString() {
        return "CudaActivation[" + name + " " + maxRows + "x" + cols + "]";
    }
}
