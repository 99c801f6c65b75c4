package io.stoker.llm.backend.cpu;

import io.stoker.llm.backend.Activation;

/** A heap activation: {@code maxRows * cols} floats, row-major. */
final class CpuActivation implements Activation {
    final String name;
    final float[] data;
    final int maxRows;
    final int cols;

    CpuActivation(String name, int maxRows, int cols) {
        long n = (long) maxRows * cols;
        if (n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("activation '" + name + "' of " + maxRows + " x " + cols
                    + " floats is larger than one Java array; lower maxBatchTokens");
        }
        this.name = name;
        this.maxRows = maxRows;
        this.cols = cols;
        this.data = new float[(int) n];
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
        return "CpuActivation[" + name + " " + maxRows + "x" + cols + "]";
    }
}
