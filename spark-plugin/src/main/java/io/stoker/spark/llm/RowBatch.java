package io.stoker.spark.llm;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A batch of rows after the preparer (requests or row errors) and, once the engine actor enqueued them, with their
 * pending results. {@link #done()} completes when every enqueued row finished (normally or not).
 *
 * @param source the batch as the task sent it
 * @param rows   one outcome per input row, in input order
 */
public record RowBatch(RequestBatch source, List<RowOutcome> rows) {
    /** @return a future completing when every enqueued row's result is complete */
    public CompletableFuture<Void> done() {
        CompletableFuture<?>[] fs = rows.stream().map(r -> r.result).filter(f -> f != null)
                .toArray(CompletableFuture[]::new);
        return CompletableFuture.allOf(fs);
    }

    /** Abandons every row still generating (frees their KV blocks at the engine's next step). */
    public void cancel() {
        for (RowOutcome r : rows) {
            CompletableFuture<?> f = r.backendFuture;
            if (f != null) {
                f.cancel(false);
            }
        }
    }
}
