package io.stoker.runtime.graph;

/**
 * A task ran longer than {@link GraphOptions#taskTimeoutMillis()}. Its actor was killed with this exception as the
 * cause, so every pending execution of the actor's graphs failed at once with a {@link GraphUnavailableException}
 * caused by it; the stuck method's thread was interrupted and its late result, if any, is dropped.
 */
public final class TaskTimeoutException extends GraphException {
    private static final long serialVersionUID = 1L;

    public TaskTimeoutException(String message) {
        super(message);
    }
}
