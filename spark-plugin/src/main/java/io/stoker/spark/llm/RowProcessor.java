package io.stoker.spark.llm;

import io.stoker.spark.executor.ExecutorRuntime;

import java.util.concurrent.CompletableFuture;

/**
 * An executor's long-lived processor for LLM calls: the local engine ({@link LlmProcessor}) or an OpenAI-compatible
 * server ({@link HttpProcessor}). Tasks send it Arrow batches of rows and get Arrow batches of results back, one
 * output row per input row, in order.
 */
public interface RowProcessor extends AutoCloseable {
    /** A batch on its way: its rows once handed to the backend (for cancelling) and its Arrow output. */
    record Pending(CompletableFuture<RowBatch> enqueued,
                   CompletableFuture<org.apache.arrow.vector.VectorSchemaRoot> output) {
        /** Abandons the batch's rows still in the backend. */
        public void cancel() {
            enqueued.thenAccept(RowBatch::cancel);
        }
    }

    /** Sends a batch through the processor. */
    Pending submit(RequestBatch batch);

    /** @return rows the backend is working on now (the engine's running sequences, or HTTP requests in flight) */
    long running();

    /** @return false once the processor cannot serve any more (an engine died): the executor then builds a new one */
    boolean isHealthy();

    /** @return the key the executor registered it under */
    String key();

    @Override
    void close();

    /** @return this executor's processor for the call, built at the first request */
    static RowProcessor forCall(ExecutorRuntime host, LlmSpec spec) {
        String key = "llm:" + spec.engineKey();
        if (spec.isHttp()) {
            return host.service(key, () -> HttpProcessor.start(host, spec, key), HttpProcessor::isHealthy);
        }
        return host.service(key, () -> LlmProcessor.start(host, spec, key), LlmProcessor::isHealthy);
    }
}
