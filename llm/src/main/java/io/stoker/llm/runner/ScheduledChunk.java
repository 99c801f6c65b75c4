package io.stoker.llm.runner;

import java.io.Serializable;
import java.util.Arrays;

/**
 * One request's part of a step: tokens to compute at consecutive positions, the KV blocks newly appended to its block
 * table, and whether the step ends by sampling its next token.
 *
 * @param id        request id
 * @param start     position of the first token (tokens before it already have KV in the cache)
 * @param tokens    token ids at positions {@code [start, start + tokens.length)}
 * @param newBlocks physical KV blocks appended to the request's block table this step (the whole table the first
 *                  time the request is scheduled after {@link NewRequest})
 * @param sample    whether these tokens reach the end of what is known, so the step samples the next one
 */
public record ScheduledChunk(long id, int start, int[] tokens, int[] newBlocks, boolean sample) implements Serializable {
    private static final long serialVersionUID = 1L;

    @Override
    public boolean equals(Object o) {
        return o instanceof ScheduledChunk c && id == c.id && start == c.start && Arrays.equals(tokens, c.tokens)
                && Arrays.equals(newBlocks, c.newBlocks) && sample == c.sample;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(id) * 31 + start;
    }

    @Override
    public String toString() {
        return "Chunk[" + id + " @" + start + " x" + tokens.length + (newBlocks.length > 0 ? " +blocks "
                + Arrays.toString(newBlocks) : "") + (sample ? " sample" : "") + "]";
    }
}
