package io.stoker.spark.artifact;

/** An artifact could not be fetched or failed verification; the message names the URI and the cause. */
public final class ArtifactException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ArtifactException(String message) {
        super(message);
    }

    public ArtifactException(String message, Throwable cause) {
        super(message, cause);
    }
}
