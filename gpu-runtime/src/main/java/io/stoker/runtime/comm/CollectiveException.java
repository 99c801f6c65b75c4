package io.stoker.runtime.comm;

/** A collective could not complete: mismatched calls across ranks, a timeout, or a closed communicator. */
public final class CollectiveException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CollectiveException(String message) {
        super(message);
    }

    public CollectiveException(String message, Throwable cause) {
        super(message, cause);
    }
}
