package io.stoker.llm.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.Map;

/**
 * One request body for an OpenAI-compatible endpoint. Every field is passed through as given: sampling values,
 * {@code response_format}, {@code n}, {@code logprobs}/{@code top_logprobs}, {@code seed}, and any extra field a
 * server understands (e.g. vLLM's {@code top_k}). Immutable: the body is copied in and serialized once.
 */
public final class OpenAiRequest {
    static final ObjectMapper JSON = new ObjectMapper();

    private final OpenAiEndpoint endpoint;
    private final ObjectNode body;
    private final byte[] bytes;
    private final long estimatedTokens;

    private OpenAiRequest(OpenAiEndpoint endpoint, ObjectNode body) {
        if (endpoint == null) {
            throw new IllegalArgumentException("endpoint must not be null");
        }
        if (body == null) {
            throw new IllegalArgumentException("request body must not be null");
        }
        this.endpoint = endpoint;
        this.body = body.deepCopy();
        try {
            this.bytes = JSON.writeValueAsBytes(this.body);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("request body cannot be serialized: " + e.getOriginalMessage(), e);
        }
        this.estimatedTokens = estimateTokens(endpoint, this.body);
    }

    /** A request with a body given as is (e.g. the {@code body} of an OpenAI Batch line). */
    public static OpenAiRequest of(OpenAiEndpoint endpoint, ObjectNode body) {
        return new OpenAiRequest(endpoint, body);
    }

    /** A {@code /v1/chat/completions} request; add sampling and other fields on the builder. */
    public static Builder chat(String model, List<ChatMessage> messages) {
        Builder b = new Builder(OpenAiEndpoint.CHAT_COMPLETIONS, model);
        ArrayNode arr = b.body.putArray("messages");
        for (ChatMessage m : messages) {
            arr.addObject().put("role", m.role()).put("content", m.content());
        }
        return b;
    }

    /** A {@code /v1/completions} request for one text prompt. */
    public static Builder completion(String model, String prompt) {
        if (prompt == null) {
            throw new IllegalArgumentException("prompt must not be null");
        }
        Builder b = new Builder(OpenAiEndpoint.COMPLETIONS, model);
        b.body.put("prompt", prompt);
        return b;
    }

    public OpenAiEndpoint endpoint() {
        return endpoint;
    }

    /** @return a copy of the body */
    public ObjectNode body() {
        return body.deepCopy();
    }

    byte[] bytes() {
        return bytes;
    }

    /**
     * @return what the request may cost in tokens, for the client's tokens-per-minute limit before the server says:
     *         about 4 characters per prompt token plus {@code max_tokens} (or {@code max_completion_tokens}) times
     *         {@code n}; corrected by the response's {@code usage}
     */
    public long estimatedTokens() {
        return estimatedTokens;
    }

    private static long estimateTokens(OpenAiEndpoint endpoint, ObjectNode body) {
        long chars = 0;
        if (endpoint == OpenAiEndpoint.CHAT_COMPLETIONS) {
            for (JsonNode m : body.path("messages")) {
                JsonNode c = m.path("content");
                chars += c.isTextual() ? c.asText().length() : c.toString().length();
            }
        } else {
            JsonNode p = body.path("prompt");
            chars += p.isTextual() ? p.asText().length() : p.toString().length();
        }
        long out = body.path("max_completion_tokens").asLong(body.path("max_tokens").asLong(0));
        long n = Math.max(1, body.path("n").asLong(1));
        return Math.max(1, (chars + 3) / 4 + out * n);
    }

    @Override
    public String toString() {
        return "OpenAiRequest[" + endpoint.path() + ", " + bytes.length + " bytes]";
    }

    /** Builds a request; {@link #field} sets any body field. */
    public static final class Builder {
        private final OpenAiEndpoint endpoint;
        private final ObjectNode body = JSON.createObjectNode();

        private Builder(OpenAiEndpoint endpoint, String model) {
            if (model == null || model.isEmpty()) {
                throw new IllegalArgumentException("model must be a non-empty string (the server's model id)");
            }
            this.endpoint = endpoint;
            body.put("model", model);
        }

        /** Sets a body field to a string, number, boolean, list, map or {@link JsonNode}; null removes it. */
        public Builder field(String name, Object value) {
            if (value == null) {
                body.remove(name);
            } else {
                body.set(name, value instanceof JsonNode ? ((JsonNode) value).deepCopy() : JSON.valueToTree(value));
            }
            return this;
        }

        /** Sets every entry as a body field (see {@link #field}). */
        public Builder fields(Map<String, ?> values) {
            values.forEach(this::field);
            return this;
        }

        public Builder maxTokens(int n) {
            return field("max_tokens", n);
        }

        public Builder temperature(double t) {
            return field("temperature", t);
        }

        public Builder topP(double p) {
            return field("top_p", p);
        }

        public Builder n(int n) {
            return field("n", n);
        }

        public Builder seed(long seed) {
            return field("seed", seed);
        }

        public Builder stop(List<String> stop) {
            return field("stop", stop);
        }

        /** {@code response_format}, e.g. {@code {"type": "json_schema", "json_schema": {...}}}. */
        public Builder responseFormat(JsonNode format) {
            return field("response_format", format);
        }

        public OpenAiRequest build() {
            return new OpenAiRequest(endpoint, body);
        }
    }
}
