package io.stoker.llm.batch;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.backend.Backend;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.model.Partition;
import io.stoker.llm.runner.ModelRunner;
import io.stoker.llm.runner.RunnerOutput;
import io.stoker.llm.runner.StepPlan;

/**
 * The whole model in the calling thread (plus the backend's worker threads): one {@link ModelRunner}.
 *
 * <p>Thread-safety: one thread calls {@link #execute} at a time.
 */
public final class LocalExecutor implements ModelExecutor {
    private final ModelRunner runner;

    public LocalExecutor(LoadedModel m, EngineConfig cfg) {
        int layers = m.config().numHiddenLayers();
        this.runner = new ModelRunner(m, Partition.whole(layers), null,
                cfg.runnerConfig(cfg.kvBlocks(m.config()), cfg.threads()));
    }

    /** The whole model on a backend the caller created (owned by the executor from now on). */
    public LocalExecutor(LoadedModel m, EngineConfig cfg, Backend backend) {
        int layers = m.config().numHiddenLayers();
        this.runner = new ModelRunner(m, Partition.whole(layers), null,
                cfg.runnerConfig(cfg.kvBlocks(m.config()), cfg.threads()), backend);
    }

    @Override
    public RunnerOutput execute(StepPlan plan) {
        return runner.execute(plan);
    }

    @Override
    public float[] logits(ForwardBatch batch) {
        return runner.forwardToHost(batch, null);
    }

    @Override
    public int numBlocks() {
        return runner.numBlocks();
    }

    public ModelRunner runner() {
        return runner;
    }

    @Override
    public void close() {
        runner.close();
    }
}
