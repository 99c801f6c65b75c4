package io.stoker.llm.load;

/**
 * A model file or directory that cannot be used: corrupt header, missing or mis-shaped tensor, unknown
 * architecture or invalid config field. The message names the file, tensor or field and what to do.
 */
public final class ModelFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ModelFormatException(String message) {
        super(message);
    }

    public ModelFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
