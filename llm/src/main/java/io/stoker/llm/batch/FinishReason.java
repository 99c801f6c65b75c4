package io.stoker.llm.batch;

/** Why a request stopped: {@code stop} (EOS, stop token or stop string), {@code length} (max tokens or context). */
public enum FinishReason {
    STOP("stop"),
    LENGTH("length");

    private final String label;

    FinishReason(String label) {
        this.label = label;
    }

    /** @return the OpenAI/vLLM spelling */
    public String label() {
        return label;
    }
}
