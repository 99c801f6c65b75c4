package io.stoker.llm.backend;

import io.stoker.llm.kv.KvCache;
import io.stoker.llm.tensor.Tensor;

/**
 * The operations a model's forward pass needs, over activations laid out token-major ({@code [tokens][features]}
 * with a row stride). A backend owns the tensors it reads and the threads it uses.
 *
 * <p>Batch invariance (see docs/llm.md): every operation computes each output element of a token from that
 * token's inputs only, with a reduction order fixed by the model's dimensions. The number of tokens in the call,
 * their order, and how work is split over threads never change a result bit.
 *
 * <p>Thread-safety: one thread calls a backend at a time.
 */
public interface Backend extends AutoCloseable {
    /**
     * {@code y[t][r] = sum_c W[row0 + r][col0 + c] * x[t][c]} for {@code t < nTok}, {@code r < nRows},
     * {@code c < nCols}.
     */
    void matmul(Tensor w, int row0, int nRows, int col0, int nCols, float[] x, int xStride, int nTok, float[] y,
                int yStride);

    /** Copies (dequantizing) rows {@code tokens[i]} of {@code table} into {@code out[i * dim ..]}. */
    void embed(Tensor table, int[] tokens, int nTok, float[] out);

    /**
     * Causal attention over the paged cache for {@code nTok} query tokens: token {@code t} of sequence
     * {@code tokenSeq[t]} at position {@code positions[t]} attends to positions
     * {@code [max(0, pos - window + 1), pos]} of its sequence (window 0 = unlimited).
     */
    void attention(float[] q, int nTok, int nHeads, int headDim, int[] positions, int[] tokenSeq,
                   int[][] blockTables, KvCache cache, int layer, int window, float[] out);

    int threads();

    @Override
    void close();
}
