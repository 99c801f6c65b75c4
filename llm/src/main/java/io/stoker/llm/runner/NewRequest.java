package io.stoker.llm.runner;

import io.stoker.llm.sample.SamplingParams;

import java.io.Serializable;
import java.util.Arrays;

/**
 * What a model runner keeps about a request, sent once when the request starts running (again, after a
 * preemption): its sampling settings and the history its penalties and draw counter start from.
 *
 * @param id        request id
 * @param tokens    prompt, then output tokens already generated (a recomputed request)
 * @param promptLen how many of {@code tokens} are prompt
 * @param params    sampling settings
 * @param seed      the request's seed (drawn by the engine when the request gave none)
 */
public record NewRequest(long id, int[] tokens, int promptLen, SamplingParams params, long seed)
        implements Serializable {
    private static final long serialVersionUID = 1L;

    @Override
    public boolean equals(Object o) {
        return o instanceof NewRequest r && id == r.id && Arrays.equals(tokens, r.tokens) && promptLen == r.promptLen
                && params.equals(r.params) && seed == r.seed;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(id) * 31 + Arrays.hashCode(tokens);
    }

    @Override
    public String toString() {
        return "NewRequest[" + id + ", " + tokens.length + " tokens, prompt " + promptLen + "]";
    }
}
