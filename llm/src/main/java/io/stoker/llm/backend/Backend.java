package io.stoker.llm.backend;

import io.stoker.llm.kv.KvCache;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.Tensor;
import io.stoker.runtime.comm.Communicator;
import io.stoker.runtime.comm.ReduceOp;

/**
 * Every operation of a forward pass and of sampling, over {@link Activation}s the backend owns (token-major,
 * {@code [tokens][features]}, f32) and weights it {@linkplain #prepare prepared}. The CPU backend runs Java loops and
 * Vector API kernels; a device backend runs kernels on its own memory. A model written against this interface runs on
 * either; the host sees activations only through {@link #copyToHost}, and sampled token ids through the
 * {@link TokenSampler}.
 *
 * <p>The ops of one forward call receive the same {@link ForwardBatch} instance; a device backend may upload its
 * index arrays (positions, sequence of each token, block tables) once per instance.
 *
 * <p>Batch invariance (see docs/llm.md): every op computes each output element of a token from that token's inputs
 * only (and, for attention, its own sequence's cache), with a reduction order fixed by the model's dimensions. The
 * number of tokens in the call, their order, and how work is split over threads never change a result bit.
 *
 * <p>Thread-safety: one thread calls a backend at a time.
 */
public interface Backend extends AutoCloseable {
    /** @return a short name ({@code cpu}, {@code cuda}) */
    String name();

    int threads();

    // ------------------------------------------------------------------------------------------ memory

    /** A buffer of {@code maxRows} rows of {@code cols} floats. */
    Activation allocate(String name, int maxRows, int cols);

    /**
     * The backend's form of a weight: the CPU keeps matrices in their memory mapping and copies small vectors (norms,
     * biases) to the heap; a device backend uploads.
     */
    Tensor prepare(Tensor weight);

    /**
     * KV storage for layers {@code [firstLayer, firstLayer + layers)} in the layout of
     * {@link io.stoker.llm.kv.KvCacheDescriptor}, elements of {@code dtype} (F32 or F16).
     */
    KvCache createKvCache(int firstLayer, int layers, int numBlocks, int blockSize, int kvHeads, int headDim,
                          DType dtype);

    /** Per-request sampling state for {@code slots} requests over a vocabulary of {@code vocab}. */
    TokenSampler createSampler(int vocab, int slots);

    /** Copies rows {@code [0, rows)} of {@code a} to {@code dst[off ..]} ({@code rows * cols} floats). */
    void copyToHost(Activation a, int rows, float[] dst, int off);

    /** Copies {@code rows * a.cols()} floats from {@code src[off ..]} into rows {@code [0, rows)} of {@code a}. */
    void copyFromHost(float[] src, int off, int rows, Activation a);

    // ------------------------------------------------------------------------------------------ forward-pass ops

    /** {@code out[t] = table[tokens[t]]} (dequantized) for the batch's tokens. */
    void embed(Tensor table, ForwardBatch b, Activation out);

    /**
     * {@code out[t] = x[t] * rsqrt(mean(x[t]^2) + eps) * weight} for {@code t < n}; the mean of squares is summed in
     * double in index order.
     */
    void rmsNorm(Activation x, Tensor weight, double eps, int n, Activation out);

    /**
     * {@code y[t][r] = sum_c W[row0 + r][col0 + c] * x[t][c]} for {@code t < n}, {@code r < y.cols()},
     * {@code c < x.cols()}.
     */
    void matmul(Tensor w, int row0, int col0, Activation x, int n, Activation y);

    /** {@code y[t][i] += bias[offset + i]} for {@code t < n}, {@code i < y.cols()}. */
    void addBias(Activation y, Tensor bias, int offset, int n);

    /**
     * Rotary tables for the batch's positions: row {@code t} of {@code cosSin} holds {@code cos(pos[t] * invFreq[i])}
     * in columns {@code [0, half)} and the sines in {@code [half, 2 half)}; angles in double, stored as f32.
     */
    void ropeCache(ForwardBatch b, double[] invFreq, Activation cosSin);

    /**
     * Rotates pairs of every head of {@code x} ({@code heads * headDim} columns) for {@code t < n}:
     * {@code (x0, x1) -> (x0 c - x1 s, x1 c + x0 s)}. Pairs are {@code (i, i + headDim/2)} (Hugging Face
     * {@code rotate_half}) or {@code (2i, 2i + 1)} when {@code interleaved} (GGUF llama layout).
     */
    void rope(Activation x, int n, int heads, int headDim, Activation cosSin, boolean interleaved);

    /** Stores each token's K and V rows ({@code kvHeads * headDim}) at its position in its sequence's blocks. */
    void kvWrite(KvCache cache, int layer, Activation k, Activation v, ForwardBatch b);

    /**
     * Causal attention over the paged cache: token {@code t} (query heads grouped over the cache's KV heads) attends
     * to positions {@code [max(0, pos - window + 1), pos]} of its sequence (window 0 = unlimited); softmax of
     * {@code q.k / sqrt(headDim)}, weighted sum of v, positions in increasing order.
     */
    void attention(Activation q, int heads, KvCache cache, int layer, int window, ForwardBatch b, Activation out);

    /** {@code x[t] += y[t]} for {@code t < n} (residual add). */
    void add(Activation x, Activation y, int n);

    /** {@code gate[t] = silu(gate[t]) * up[t]} for {@code t < n}; {@code silu(g) = g / (1 + e^-g)}. */
    void siluMul(Activation gate, Activation up, int n);

    /** {@code dst[i] = src[rows[i]]} for {@code i < m}. */
    void gatherRows(Activation src, int[] rows, int m, Activation dst);

    // ------------------------------------------------------------------------------------------ collectives

    /**
     * Sums rows {@code [0, n)} of {@code x} over the communicator's ranks, in place. The default goes through host
     * arrays; a device backend with its own collectives overrides it.
     */
    default void allReduceSum(Communicator comm, int rank, Activation x, int n) {
        float[] h = new float[n * x.cols()];
        copyToHost(x, n, h, 0);
        comm.allreduceInPlace(rank, h, ReduceOp.SUM);
        copyFromHost(h, 0, n, x);
    }

    /**
     * Concatenates every rank's {@code part} (rows {@code [0, n)}) along the columns into {@code out}
     * ({@code out.cols() = world * part.cols()}), rank order.
     */
    default void allGatherColumns(Communicator comm, int rank, int world, Activation part, int n, Activation out) {
        int w = part.cols();
        float[] h = new float[n * w];
        copyToHost(part, n, h, 0);
        float[] all = (float[]) comm.allgather(rank, h); // [world][n][w]
        float[] rows = new float[n * w * world];
        for (int r = 0; r < world; r++) {
            for (int t = 0; t < n; t++) {
                System.arraycopy(all, (r * n + t) * w, rows, t * w * world + r * w, w);
            }
        }
        copyFromHost(rows, 0, n, out);
    }

    @Override
    void close();
}
