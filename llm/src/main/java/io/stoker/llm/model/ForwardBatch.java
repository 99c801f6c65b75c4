package io.stoker.llm.model;

import java.util.Arrays;

/**
 * The tokens of one forward call, from any number of sequences at any positions (prefill chunks and decode
 * tokens alike). Immutable by convention: arrays are not modified after construction.
 *
 * @param numTokens   tokens in this call
 * @param tokens      token ids, {@code [numTokens]}
 * @param positions   position of each token in its sequence, {@code [numTokens]}
 * @param tokenSeq    index into {@code blockTables} of each token's sequence, {@code [numTokens]}
 * @param blockTables per sequence: physical KV block of each logical block
 * @param logitTokens indices of the tokens whose logits are wanted, in output order
 */
public record ForwardBatch(int numTokens, int[] tokens, int[] positions, int[] tokenSeq, int[][] blockTables,
                           int[] logitTokens) {
    public ForwardBatch {
        if (tokens.length < numTokens || positions.length < numTokens || tokenSeq.length < numTokens) {
            throw new IllegalArgumentException("batch arrays are shorter than numTokens=" + numTokens);
        }
    }

    /** A single sequence whose tokens all sit at positions {@code start..}; logits for every token if asked. */
    public static ForwardBatch single(int[] tokens, int start, int[] blockTable, boolean allLogits) {
        int n = tokens.length;
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) {
            pos[i] = start + i;
        }
        int[] logits;
        if (allLogits) {
            logits = new int[n];
            for (int i = 0; i < n; i++) {
                logits[i] = i;
            }
        } else {
            logits = new int[]{n - 1};
        }
        return new ForwardBatch(n, tokens.clone(), pos, new int[n], new int[][]{blockTable}, logits);
    }

    @Override
    public String toString() {
        return "ForwardBatch[tokens=" + numTokens + ", seqs=" + blockTables.length + ", logits="
                + Arrays.toString(logitTokens) + "]";
    }
}
