package io.stoker.llm.openai;

/** The OpenAI-compatible endpoints the client speaks, relative to a base URL that ends in {@code /v1}. */
public enum OpenAiEndpoint {
    /** {@code POST /v1/chat/completions}: {@code messages} in, {@code choices[].message.content} out. */
    CHAT_COMPLETIONS("/chat/completions"),
    /** {@code POST /v1/completions}: {@code prompt} in, {@code choices[].text} out. */
    COMPLETIONS("/completions");

    private final String path;

    OpenAiEndpoint(String path) {
        this.path = path;
    }

    /** @return the path after the base URL, e.g. {@code /chat/completions} */
    public String path() {
        return path;
    }

    /** @return the endpoint for a path such as {@code /v1/chat/completions} (a Batch file's {@code url}) */
    public static OpenAiEndpoint forUrl(String url) {
        String u = url == null ? "" : url.trim();
        for (OpenAiEndpoint e : values()) {
            if (u.equals(e.path) || u.equals("/v1" + e.path)) {
                return e;
            }
        }
        throw new IllegalArgumentException("url '" + url + "' is not a supported endpoint; use /v1/chat/completions or"
                + " /v1/completions");
    }
}
