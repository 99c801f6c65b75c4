package io.stoker.spark.executor;

/** An actor pool could not start on an executor; the message names the pool, the actor and the cause. */
public final class PoolStartException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PoolStartException(String message, Throwable cause) {
        super(message, cause);
    }

    public PoolStartException(String message) {
        super(message);
    }
}
