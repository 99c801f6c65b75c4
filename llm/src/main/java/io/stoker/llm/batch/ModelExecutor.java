package io.stoker.llm.batch;

import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.runner.RunnerOutput;
import io.stoker.llm.runner.StepPlan;

/**
 * Runs the engine's step plans on model runner(s): in this thread ({@link LocalExecutor}), or as a compiled graph
 * over tensor-parallel shard or pipeline-stage actors ({@code io.stoker.llm.parallel}).
 *
 * <p>Thread-safety: called by the engine thread only.
 */
public interface ModelExecutor extends AutoCloseable {
    /** Executes one step: forward pass and sampling. @return the sampled tokens (plan order) */
    RunnerOutput execute(StepPlan plan);

    /**
     * Diagnostics and tests: runs a raw batch (its own block tables, outside any request) and returns the logits of
     * its logit tokens on the host, {@code (batch.logitTokens().length, vocab)}. Not the serving path.
     */
    float[] logits(ForwardBatch batch);

    /** @return KV blocks each worker holds (the scheduler's pool size) */
    int numBlocks();

    @Override
    void close();
}
