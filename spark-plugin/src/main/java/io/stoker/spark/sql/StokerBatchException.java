package io.stoker.spark.sql;

/**
 * A batch could not go through its graph: the graph failed, timed out, or returned the wrong thing. The message
 * names the graph, the batch, the partition and executor, and the cause; Spark reports it as the task's failure.
 */
public final class StokerBatchException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public StokerBatchException(String message) {
        super(message);
    }

    public StokerBatchException(String message, Throwable cause) {
        super(message, cause);
    }
}
