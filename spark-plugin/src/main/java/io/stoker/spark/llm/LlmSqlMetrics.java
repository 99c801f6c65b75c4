package io.stoker.spark.llm;

import org.apache.spark.sql.execution.metric.SQLMetric;

import java.io.Serializable;

/**
 * The SQL metrics of one LLM operator (shown on its node in the Spark UI's SQL tab, and read by the CLI progress
 * line): rows out, errored rows, input and generated tokens, and the time tasks waited for the engine.
 */
public record LlmSqlMetrics(SQLMetric rows, SQLMetric erroredRows, SQLMetric inputTokens, SQLMetric generatedTokens,
                            SQLMetric engineWaitNanos) implements Serializable {
    /** Metric keys, as the operator registers them. */
    public static final String ROWS = "numOutputRows";
    public static final String ERRORED = "numErroredRows";
    public static final String INPUT_TOKENS = "numInputTokens";
    public static final String GENERATED_TOKENS = "numGeneratedTokens";
    public static final String ENGINE_WAIT = "engineWaitTime";
}
