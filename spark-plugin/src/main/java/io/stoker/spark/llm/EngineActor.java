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
                f = engine.submit((io.stoker.llm.batch.GenerationRequest) r.request, token -> {
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
            r.result = f.thenApply(this::toRow).whenComplete((res, err) -> r.doneNanos = System.nanoTime());
            r.backendFuture = f;
        }
        return batch;
    }

    private RowResult toRow(GenerationResult g) {
        List<RowResult.TokenLogprob> lps = null;
        if (!g.logprobs().isEmpty()) {
            lps = new java.util.ArrayList<>(g.logprobs().size());
            for (io.stoker.llm.sample.TokenLogprobs lp : g.logprobs()) {
                List<RowResult.TokenLogprob> top = new java.util.ArrayList<>(lp.topTokens().length);
                for (int k = 0; k < lp.topTokens().length; k++) {
                    top.add(new RowResult.TokenLogprob(lp.topTokens()[k], tokenText(lp.topTokens()[k]),
                            lp.topLogprobs()[k], List.of()));
                }
                lps.add(new RowResult.TokenLogprob(lp.token(), tokenText(lp.token()), lp.logprob(), top));
            }
        }
        return new RowResult(g.text(), g.promptIds().length, g.tokenIds().length,
                g.finishReason().name().toLowerCase(java.util.Locale.ROOT), g.tokenIds(), lps, null, null, null);
    }

    private String tokenText(int id) {
        io.stoker.llm.tokenizer.Tokenizer t = engine.model().tokenizer();
        return t == null ? null : t.decode(new int[]{id}, false);
    }

    @Override
    public void close() {
        engine.close();
    }
}
