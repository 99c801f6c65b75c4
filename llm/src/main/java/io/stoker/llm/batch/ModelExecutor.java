package io.stoker.llm.batch;

import io.stoker.llm.model.ForwardBatch;

/**
 * Runs forward passes for the engine: in this thread ({@link LocalExecutor}), or as a compiled graph over
 * tensor-parallel shard or pipeline-stage actors ({@code io.stoker.llm.parallel}).
 *
 * <p>Thread-safety: called by the engine thread only.
 */
public interface ModelExecutor extends AutoCloseable {
    /**
     * @return logits {@code (batch.logitTokens().length, vocab)}; valid until the next call
     */
    float[] execute(ForwardBatch batch);

    /** @return KV blocks each worker holds (the scheduler's pool size) */
    int numBlocks();

    @Override
    void close();
}
