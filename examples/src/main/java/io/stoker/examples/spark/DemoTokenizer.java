package io.stoker.examples.spark;

import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;

import java.nio.charset.StandardCharsets;

/**
 * The demo's CPU step: splits column "text" into words and hashes each to a token id (a stand-in for a real
 * tokenizer). Returns plain Java arrays: values between graph steps are object references, not Arrow.
 */
public final class DemoTokenizer {
    private static final int VOCAB = 32_000;

    /** @return token ids per row of the batch */
    public int[][] encode(VectorSchemaRoot batch) {
        VarCharVector text = (VarCharVector) batch.getVector("text");
        int n = batch.getRowCount();
        int[][] out = new int[n][];
        for (int i = 0; i < n; i++) {
            String[] words = new String(text.get(i), StandardCharsets.UTF_8).trim().split("\\s+");
            int[] ids = new int[words.length];
            for (int w = 0; w < words.length; w++) {
                ids[w] = Math.floorMod(words[w].toLowerCase(java.util.Locale.ROOT).hashCode(), VOCAB);
            }
            out[i] = ids;
        }
        return out;
    }
}
