package io.stoker.spark.executor;

/** A graph spec cannot be compiled on an executor; the message names the spec, the step and the cause. */
public final class GraphSpecException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public GraphSpecException(String message) {
        super(message);
    }

    public GraphSpecException(String message, Throwable cause) {
        super(message, cause);
    }
}
