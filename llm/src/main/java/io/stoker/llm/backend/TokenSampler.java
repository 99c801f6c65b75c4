package io.stoker.llm.backend;

import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.sample.TokenLogprobs;

/**
 * Picks next tokens from logits rows where the logits live (the backend), so only token ids, and logprobs where
 * asked, reach the host. Each request has a slot holding what its sampling needs between steps: its settings, its
 * seed, how many tokens it has drawn, and its token history for penalties. A token depends only on its row's logits
 * and its slot, never on other rows (see {@link io.stoker.llm.sample.SamplingParams} for the order of operations).
 *
 * <p>Seeded draws are counter-based: the {@code k}-th draw of a request is {@code SplitMix64(seed, k)}, so a
 * request preempted and recomputed, or moved to another worker, draws the same numbers.
 *
 * <p>Thread-safety: one thread (the model runner's) calls it.
 */
public interface TokenSampler extends AutoCloseable {
    /** @return how many slots exist ({@code [0, slots())}) */
    int slots();

    /**
     * Fills a slot for a request.
     *
     * @param tokens    the request's tokens so far (prompt, then any output already generated)
     * @param promptLen how many of {@code tokens} are prompt; the rest count as output for penalties and draws
     */
    void open(int slot, SamplingParams params, long seed, int[] tokens, int promptLen);

    /** Empties a slot (the request finished, was cancelled or preempted). */
    void close(int slot);

    /**
     * Samples row {@code i < rows} of {@code logits} for slot {@code slots[i]} into {@code out[i]}, and records each
     * token in its slot's history.
     */
    void sample(Activation logits, int rows, int[] slots, int[] out);

    /** The top {@code k} logprobs of row {@code row} of the raw logits, and the logprob of {@code token}. */
    TokenLogprobs logprobs(Activation logits, int row, int token, int k);

    @Override
    void close();
}
