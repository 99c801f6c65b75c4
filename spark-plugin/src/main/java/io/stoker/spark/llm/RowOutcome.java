package io.stoker.spark.llm;

import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;

import java.util.concurrent.CompletableFuture;

/**
 * What happens to one input row inside the processor: either a request for the engine, or an error that names the
 * problem and the fix. Once enqueued, {@link #result} completes when generation ends; {@link #firstTokenNanos} is
 * set on the engine thread when the first token appears.
 */
public final class RowOutcome {
    final GenerationRequest request;
    final String error;
    final int inputTokens;
    volatile CompletableFuture<GenerationResult> result;
    volatile CompletableFuture<GenerationResult> engineFuture;
    volatile long submitNanos;
    volatile long firstTokenNanos;
    volatile long doneNanos;

    private RowOutcome(GenerationRequest request, String error, int inputTokens) {
        this.request = request;
        this.error = error;
        this.inputTokens = inputTokens;
    }

    static RowOutcome request(GenerationRequest request, int inputTokens) {
        return new RowOutcome(request, null, inputTokens);
    }

    static RowOutcome error(String error, int inputTokens) {
        return new RowOutcome(null, error, inputTokens);
    }

    /** @return the error that stopped this row before the engine, or null */
    public String error() {
        return error;
    }

    /** @return a row that failed once enqueued (the engine refused it), replacing this one */
    RowOutcome refused(String why) {
        return new RowOutcome(null, why, inputTokens);
    }
}
