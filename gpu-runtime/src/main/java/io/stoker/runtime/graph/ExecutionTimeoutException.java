package io.stoker.runtime.graph;

/** An execution's result did not arrive in time; the result may still be fetched later. */
public class ExecutionTimeoutException extends GraphException {
    private static final long serialVersionUID = 1L;

    public ExecutionTimeoutException(String message) {
        super(message);
    }

    public ExecutionTimeoutException(String message, Throwable cause) {
        super(message, cause);
    }
}
