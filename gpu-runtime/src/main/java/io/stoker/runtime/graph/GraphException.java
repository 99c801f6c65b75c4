package io.stoker.runtime.graph;

/** Base of the errors a graph raises; the message names the graph, node or execution. */
public class GraphException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public GraphException(String message) {
        super(message);
    }

    public GraphException(String message, Throwable cause) {
        super(message, cause);
    }
}
