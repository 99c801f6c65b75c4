package io.stoker.runtime.graph;

/** {@code execute} found {@code maxInFlight} executions already in flight. */
public class CapacityExceededException extends GraphException {
    private static final long serialVersionUID = 1L;

    public CapacityExceededException(String message) {
        super(message);
    }

    public CapacityExceededException(String message, Throwable cause) {
        super(message, cause);
    }
}
