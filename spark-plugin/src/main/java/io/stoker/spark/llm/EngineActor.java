package io.stoker.spark.llm;

import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;

import io.stoker.runtime.actor.BackgroundWork;
import org.agrona.concurrent.AgentTerminationException;

import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BiConsumer;

/**
 * The engine stage of an executor's LLM processor: an actor holding one continuously batching {@link LlmEngine},
 * shared by every task, stage and job of the executor that uses the same model and engine options. {@link #enqueue}
 * hands a batch's requests to the engine and returns at once; rows from all tasks are batched together by the engine.
 *
 * <p>A CPU engine steps on its own thread. A CUDA engine was built on this actor's thread, which owns its device, so
 * it steps here, as this actor's {@link BackgroundWork}, between enqueues: a non-fatal device error of a step (a
 * device out-of-memory) fails only that step's rows, each with an error saying so; a fatal one (a sticky CUDA error)
 * kills the engine and calls the fatal-error handler (the executor exits, see {@link FatalDeviceErrorExit}).
 */
public final class EngineActor implements BackgroundWork, AutoCloseable {
    private final LlmEngine engine;
    private final String device; // e.g. "GPU 2"; null: a CPU engine stepping on its own thread
    private final BiConsumer<String, Throwable> onFatal;
    private boolean stopped;

    /** An engine that steps on its own thread ({@link LlmEngine#start()}). */
    public EngineActor(LlmEngine engine) {
        this.engine = engine;
        this.device = null;
        this.onFatal = null;
    }

    /**
     * An engine on one or more GPUs, built on this actor's thread, which runs its steps.
     *
     * @param device  where it runs, for messages (e.g. {@code GPU 2})
     * @param onFatal called once on this thread with {@code device} and the error when a fatal device error killed
     *                the engine
     */
    EngineActor(LlmEngine engine, String device, BiConsumer<String, Throwable> onFatal) {
        this.engine = engine;
        this.device = device;
        this.onFatal = onFatal;
    }

    /** @return where this engine runs (e.g. {@code GPU 2}), or null for a CPU engine */
    public String device() {
        return device;
    }

    /** One engine step of a device engine; nothing for a CPU engine (it steps on its own thread). */
    @Override
    public int doBackgroundWork() {
        if (device == null || stopped) {
            return 0;
        }
        try {
            return engine.doWork();
        } catch (AgentTerminationException e) {
            // the engine died (every pending request has failed with the cause) or was closed
            stopped = true;
            Throwable cause = engine.failure();
            if (cause != null && CudaLanes.isFatal(cause)) {
                onFatal.accept(device, cause);
            }
            return 0;
        }
    }

    @Override
    public boolean hasBackgroundWork() {
        if (device == null || stopped) {
            return false;
        }
        LlmEngine.Stats s = engine.stats();
        return s.running() + s.waiting() > 0;
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
            r.result = (device == null ? f.thenApply(this::toRow) : f.handle((g, err) -> g != null ? toRow(g)
                    : stepFailed(err, r.inputTokens))).whenComplete((res, err) -> r.doneNanos = System.nanoTime());
            r.backendFuture = f;
        }
        return batch;
    }

    /**
     * A device engine's request failed: a non-fatal error of its step (a device out-of-memory) becomes the row's
     * error; a dead or closed engine, or a cancelled row, fails as it would on the CPU (the task fails).
     */
    private RowResult stepFailed(Throwable err, int inputTokens) {
        Throwable e = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
        if (e instanceof io.stoker.llm.batch.EngineDeadException || e instanceof CancellationException
                || e instanceof IllegalStateException || e instanceof Error) {
            throw err instanceof CompletionException c ? c : new CompletionException(e);
        }
        return new RowResult(null, inputTokens, 0, "error", null, null, null, null,
                CudaLanes.stepError(e, device));
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
