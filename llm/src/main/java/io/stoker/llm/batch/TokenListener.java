package io.stoker.llm.batch;

import io.stoker.llm.sample.TokenLogprobs;

/**
 * Receives a request's tokens as they are generated. Called on the engine thread: return quickly and never block
 * (hand work to another thread).
 */
@FunctionalInterface
public interface TokenListener {
    void onToken(int tokenId);

    /**
     * Like {@link #onToken(int)}, with the token's logprobs when the request asked for them ({@code logprobs > 0}),
     * else null. The engine calls this one; the default forwards to {@link #onToken(int)}.
     */
    default void onToken(int tokenId, TokenLogprobs logprobs) {
        onToken(tokenId);
    }
}
