package io.stoker.spark.llm;

import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The engine stage of an executor's LLM processor: an actor holding one continuously batching {@link LlmEngine}
 * (its step loop runs on the engine's own thread), shared by every task, stage and job of the executor that uses
 * the same model and engine options. {@link #enqueue} hands a batch's requests to the engine and returns at once;
 * rows from all tasks are batched together by the engine.
 */
public final class EngineActor implements AutoCloseable {
    private final LlmEngine engine;

    public EngineActor(LlmEngine engine) {
        this.engine = engine;
    }

    public LlmEngine engine() {
        return engine;
    }

    /**
     * Graph step: submits each prepared row. A row the engine refuses (e.g. too long for its KV cache) becomes a row
     * error; an engine that died fails the whole batch.
     */
    public RowBatch enqueue(RowBatch batch) {
        List<RowOutcome> rows = batch.rows();
        for (int i = 0; i < rows.size(); i++) {
            RowOutcome r = rows.get(i);
            if (r.request == null) {
                continue;
            }
            r.submitNanos = System.nanoTime();
            CompletableFuture<GenerationResult> f;
            try {
                f = engine.submit(r.request, token -> {
                    if (r.firstTokenNanos == 0) {
                        r.firstTokenNanos = System.nanoTime();
                    }
                });
            } catch (io.stoker.llm.batch.EngineDeadException e) {
                batch.cancel();
                throw e;
            } catch (IllegalArgumentException e) {
                rows.set(i, r.refused(e.getMessage()));
                continue;
            }
            r.result = f.whenComplete((res, err) -> r.doneNanos = System.nanoTime());
            r.engineFuture = f;
        }
        return batch;
    }

    @Override
    public void close() {
        engine.close();
    }
}
