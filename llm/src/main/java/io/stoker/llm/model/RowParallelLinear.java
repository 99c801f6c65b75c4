package io.stoker.llm.model;

import io.stoker.llm.backend.Activation;
import io.stoker.llm.backend.Backend;
import io.stoker.llm.tensor.Tensor;
import io.stoker.runtime.comm.Communicator;

/**
 * {@code y = x W^T + b} with W's input columns split across tensor-parallel ranks: rank r multiplies its slice
 * {@code x[:, r * in/world ..]} by the matching columns, then the partial sums are all-reduced. The bias is added
 * once, after the reduction. No communication at world size 1. Mirrors vLLM's {@code RowParallelLinear}.
 *
 * <p>Thread-safety: called by the owning model's thread only.
 */
public final class RowParallelLinear {
    private final Tensor weight;
    private final Tensor bias;
    private final int out;
    private final int colStart;
    private final int inLocal;
    private final Communicator comm;
    private final int rank;

    /**
     * @param weight    a backend-prepared weight {@code [out, in]}
     * @param bias      a backend-prepared bias {@code [out]}, or null
     * @param blockSize the weight's quantization block: each rank's slice must hold whole blocks
     */
    public RowParallelLinear(Tensor weight, Tensor bias, Partition p, Communicator comm, int blockSize) {
        this.weight = weight;
        this.bias = bias;
        this.out = weight.rows();
        int in = weight.cols();
        int world = p.worldSize();
        if (in % world != 0 || (in / world) % blockSize != 0) {
            throw new IllegalArgumentException("'" + weight.name() + "' has " + in + " input columns, which do not"
                    + " split into " + world + " slices of whole " + weight.dtype() + " blocks");
        }
        this.colStart = p.sliceStart(in);
        this.inLocal = p.sliceLen(in);
        this.comm = world > 1 ? comm : null;
        this.rank = p.rank();
        if (world > 1 && comm == null) {
            throw new IllegalArgumentException("tensor-parallel size " + world + " needs a communicator");
        }
    }

    public int inFeatures() {
        return inLocal;
    }

    public int outFeatures() {
        return out;
    }

    /** {@code y[t][0..out)} for {@code n} tokens of this rank's input slice {@code x[t][0..inLocal)}. */
    public void forward(Backend be, Activation x, int n, Activation y) {
        be.matmul(weight, 0, colStart, x, n, y);
        if (comm != null) {
            be.allReduceSum(comm, rank, y, n);
        }
        if (bias != null) {
            be.addBias(y, bias, 0, n);
        }
    }
}
