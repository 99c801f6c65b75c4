package io.stoker.spark.llm;

/** An LLM call's options are invalid; the message names each bad option, its value and what is allowed. */
public final class LlmConfigException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public LlmConfigException(String message) {
        super(message);
    }
}
