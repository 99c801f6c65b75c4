package io.stoker.llm.sample;

/**
 * Log-probabilities of one generated token under the raw model distribution.
 *
 * @param token          the chosen token
 * @param logprob        its logprob
 * @param topTokens      the most likely tokens, best first (ties: lower id first)
 * @param topLogprobs    their logprobs
 */
public record TokenLogprobs(int token, float logprob, int[] topTokens, float[] topLogprobs)
        implements java.io.Serializable {
}
