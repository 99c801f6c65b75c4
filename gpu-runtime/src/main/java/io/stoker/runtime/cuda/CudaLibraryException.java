package io.stoker.runtime.cuda;

/**
 * A CUDA library or one of its symbols could not be loaded. The message names the library, each path tried with
 * the loader's reason, or the missing symbol; see {@link CudaConfig} for the search order and how to point it at
 * other directories.
 */
public final class CudaLibraryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CudaLibraryException(String message) {
        super(message);
    }

    public CudaLibraryException(String message, Throwable cause) {
        super(message, cause);
    }
}
