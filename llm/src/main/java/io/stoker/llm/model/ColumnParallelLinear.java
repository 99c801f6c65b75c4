package io.stoker.llm.model;

import io.stoker.llm.backend.Activation;
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
    private final Tensor bias;
    private final int rowStart;
    private final int outLocal;
    private final int in;
    private final Communicator comm;
    private final int rank;
    private final int world;
    private final boolean gather;
    private Activation part; // this rank's slice before gathering, grown on demand

    /**
     * @param weight a backend-prepared weight {@code [out, in]}
     * @param bias   the backend-prepared whole bias vector, or null; the rank adds its slice
     */
    public ColumnParallelLinear(Tensor weight, Tensor bias, Partition p, Communicator comm, boolean gather) {
        this.weight = weight;
        this.bias = bias;
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
    public void forward(Backend be, Activation x, int n, Activation y) {
        if (!gather || world == 1) {
            be.matmul(weight, rowStart, 0, x, n, y);
            if (bias != null) {
                be.addBias(y, bias, rowStart, n);
            }
            return;
        }
        if (part == null || part.maxRows() < n) {
            part = be.allocate(weight.name() + "#rank" + rank, Math.max(n, y.maxRows()), outLocal);
        }
        be.matmul(weight, rowStart, 0, x, n, part);
        if (bias != null) {
            be.addBias(part, bias, rowStart, n);
        }
        be.allGatherColumns(comm, rank, world, part, n, y);
    }
}
