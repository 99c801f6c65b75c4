package io.stoker.spark.llm;

import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * One batch of rows a task sends through an executor's LLM processor: the call's options and an Arrow batch whose
 * first column is the prompt (string) or the messages ({@code array<struct<role, content>>}) and whose optional
 * second column is the per-row sampling overrides (struct or map).
 *
 * @param spec     the call's options (per call: several calls may share one engine)
 * @param rows     the Arrow batch; owned by the task, which closes it when the batch is done
 * @param where    partition and task, for messages
 * @param firstRow index within the partition of the batch's first row, for messages
 */
public record RequestBatch(LlmSpec spec, VectorSchemaRoot rows, String where, long firstRow) {
}
