package io.stoker.llm.batch;

/**
 * The engine's step loop died (a bug or an {@link Error} such as out of memory): the request failed, and the engine
 * accepts no more. Build a new engine; requests are deterministic, so running them again gives the same output.
 */
public final class EngineDeadException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public EngineDeadException(String message, Throwable cause) {
        super(message, cause);
    }
}
