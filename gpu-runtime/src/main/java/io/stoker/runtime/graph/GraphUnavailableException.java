package io.stoker.runtime.graph;

/** The graph can run no more executions: it was closed, or one of its actors died. */
public class GraphUnavailableException extends GraphException {
    private static final long serialVersionUID = 1L;

    public GraphUnavailableException(String message) {
        super(message);
    }

    public GraphUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
