package io.stoker.llm.model;

import io.stoker.llm.backend.Backend;
import io.stoker.llm.tensor.Tensor;
import io.stoker.runtime.comm.Communicator;

/**
 * {@code y = x W^T + b} with W's output rows split across tensor-parallel ranks: rank r computes rows
 * {@code [r * out/world, (r+1) * out/world)}. With {@code gather}, the slices are all-gathered so every rank ends
 * with the full output (used for the LM head); otherwise each rank keeps its slice. No communication at world
 * size 1. Mirrors vLLM's {@code ColumnParallelLinear}.
 *
 * <p>Thread-safety: called by the owning model's thread only.
 */
public final class ColumnParallelLinear {
    private final Tensor weight;
    private final float[] bias;
    private final int rowStart;
    private final int outLocal;
    private final int in;
    private final Communicator comm;
    private final int rank;
    private final int world;
    private final boolean gather;

    /**
     * @param fullBias the whole bias vector or null; the rank keeps its slice
     */
    public ColumnParallelLinear(Tensor weight, float[] fullBias, Partition p, Communicator comm, boolean gather) {
        this.weight = weight;
        this.in = weight.cols();
        int out = weight.rows();
        this.world = p.worldSize();
        this.rank = p.rank();
        if (out % world != 0) {
            throw new IllegalArgumentException("'" + weight.name() + "' has " + out + " output rows, not divisible by"
                    + " tensor-parallel size " + world);
        }
        this.rowStart = p.sliceStart(out);
        this.outLocal = p.sliceLen(out);
        if (fullBias != null) {
            this.bias = new float[outLocal];
            System.arraycopy(fullBias, rowStart, bias, 0, outLocal);
        } else {
            this.bias = null;
        }
        this.comm = world > 1 ? comm : null;
        this.gather = gather;
        if (world > 1 && comm == null) {
            throw new IllegalArgumentException("tensor-parallel size " + world + " needs a communicator");
        }
    }

    /** @return output features this rank produces (the full width when gathering) */
    public int outFeatures() {
        return gather ? outLocal * world : outLocal;
    }

    public int inFeatures() {
        return in;
    }

    /** {@code y[t][0..outFeatures)} for {@code n} tokens of {@code x[t][0..in)}. */
    public void forward(Backend be, float[] x, int n, float[] y) {
        if (!gather || world == 1) {
            be.matmul(weight, rowStart, outLocal, 0, in, x, in, n, y, outLocal);
            addBias(y, n, outLocal);
            return;
        }
        float[] part = new float[n * outLocal];
        be.matmul(weight, rowStart, outLocal, 0, in, x, in, n, part, outLocal);
        addBias(part, n, outLocal);
        float[] all = (float[]) comm.allgather(rank, part); // [world][n][outLocal]
        int out = outLocal * world;
        for (int r = 0; r < world; r++) {
            for (int t = 0; t < n; t++) {
                System.arraycopy(all, (r * n + t) * outLocal, y, t * out + r * outLocal, outLocal);
            }
        }
    }

    private void addBias(float[] y, int n, int width) {
        if (bias == null) {
            return;
        }
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < width; i++) {
                y[t * width + i] += bias[i];
            }
        }
    }
}
