package io.stoker.llm.runner;

import io.stoker.llm.sample.TokenLogprobs;

import java.io.Serializable;
import java.util.Arrays;

/**
 * What a step produced: for each chunk that sampled (plan order), the request id, its next token and, where the
 * request asked, its logprobs. Small enough to cross processes every step (no logits).
 *
 * @param step     the plan's step number
 * @param ids      request ids
 * @param tokens   sampled token per request
 * @param logprobs per request, or null where not requested
 */
public record RunnerOutput(long step, long[] ids, int[] tokens, TokenLogprobs[] logprobs) implements Serializable {
    private static final long serialVersionUID = 1L;

    public int size() {
        return ids.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RunnerOutput r && step == r.step && Arrays.equals(ids, r.ids)
                && Arrays.equals(tokens, r.tokens);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(ids) * 31 + Arrays.hashCode(tokens);
    }

    @Override
    public String toString() {
        return "RunnerOutput[step " + step + ", ids " + Arrays.toString(ids) + ", tokens " + Arrays.toString(tokens)
                + "]";
    }
}
