package io.stoker.spark.llm;

import java.util.concurrent.CompletableFuture;

/**
 * What happens to one input row inside a processor: either a request for the backend (a local engine request, or an
 * HTTP request), or an error that names the problem and the fix. Once enqueued, {@link #result} completes when
 * generation ends; {@link #firstTokenNanos} is set when the first token appears (local engine).
 */
public final class RowOutcome {
    final Object request;
    final String error;
    final int inputTokens;
    volatile CompletableFuture<RowResult> result;
    volatile CompletableFuture<?> backendFuture;
    volatile long submitNanos;
    volatile long firstTokenNanos;
    volatile long doneNanos;

    private RowOutcome(Object request, String error, int inputTokens) {
        this.request = request;
        this.error = error;
        this.inputTokens = inputTokens;
    }

    static RowOutcome request(Object request, int inputTokens) {
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
