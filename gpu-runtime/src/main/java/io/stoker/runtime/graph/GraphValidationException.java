package io.stoker.runtime.graph;

/** The graph cannot be compiled; the message names the offending node and what to change. */
public class GraphValidationException extends GraphException {
    private static final long serialVersionUID = 1L;

    public GraphValidationException(String message) {
        super(message);
    }

    public GraphValidationException(String message, Throwable cause) {
        super(message, cause);
    }
}
