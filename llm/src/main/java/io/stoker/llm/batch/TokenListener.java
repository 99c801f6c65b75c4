package io.stoker.llm.batch;

/**
 * Receives a request's tokens as they are generated. Called on the engine thread: return quickly and never block
 * (hand work to another thread).
 */
@FunctionalInterface
public interface TokenListener {
    void onToken(int tokenId);
}
