package io.stoker.llm.openai;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** Reads choices, usage and error messages from OpenAI-format response bodies. */
final class ResponseParser {
    private ResponseParser() {
    }

    /** A parsed 2xx body. */
    record Parsed(String id, List<OpenAiResult.Choice> choices, OpenAiResult.Usage usage) {
    }

    /** @throws IllegalArgumentException when the body is not a completion of that endpoint */
    static Parsed parse(OpenAiEndpoint endpoint, String body) {
        JsonNode root;
        try {
            root = OpenAiRequest.JSON.readTree(body);
        } catch (Exception e) {
            throw new IllegalArgumentException("response body is not JSON (" + e.getClass().getSimpleName() + ")");
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("response body is not a JSON object");
        }
        JsonNode choices = root.get("choices");
        if (choices == null || !choices.isArray()) {
            throw new IllegalArgumentException("response has no 'choices' array");
        }
        List<OpenAiResult.Choice> out = new ArrayList<>();
        for (JsonNode c : choices) {
            String text;
            if (endpoint == OpenAiEndpoint.CHAT_COMPLETIONS) {
                JsonNode content = c.path("message").path("content");
                text = content.isTextual() ? content.asText() : null;
            } else {
                text = c.path("text").isTextual() ? c.path("text").asText() : null;
            }
            JsonNode lp = c.get("logprobs");
            boolean hasLp = lp != null && !lp.isNull();
            out.add(new OpenAiResult.Choice(c.path("index").asInt(out.size()), text,
                    c.path("finish_reason").isTextual() ? c.path("finish_reason").asText() : null,
                    hasLp ? logprobs(endpoint, lp) : List.of(), hasLp ? lp : null));
        }
        out.sort((a, b) -> Integer.compare(a.index(), b.index()));
        JsonNode u = root.get("usage");
        OpenAiResult.Usage usage = u == null || !u.isObject() ? null : new OpenAiResult.Usage(
                u.path("prompt_tokens").asLong(), u.path("completion_tokens").asLong(),
                u.path("total_tokens").asLong(u.path("prompt_tokens").asLong() + u.path("completion_tokens").asLong()));
        return new Parsed(root.path("id").isTextual() ? root.path("id").asText() : null, out, usage);
    }

    private static List<OpenAiResult.TokenLogprob> logprobs(OpenAiEndpoint endpoint, JsonNode lp) {
        List<OpenAiResult.TokenLogprob> out = new ArrayList<>();
        if (lp.has("content")) {
            // chat: {"content": [{"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob"}]}]}
            for (JsonNode t : lp.path("content")) {
                List<OpenAiResult.TopLogprob> top = new ArrayList<>();
                for (JsonNode a : t.path("top_logprobs")) {
                    top.add(new OpenAiResult.TopLogprob(a.path("token").asText(), a.path("logprob").asDouble()));
                }
                out.add(new OpenAiResult.TokenLogprob(t.path("token").asText(), t.path("logprob").asDouble(), top));
            }
        } else if (lp.has("tokens")) {
            // completions: {"tokens": [...], "token_logprobs": [...], "top_logprobs": [{token: logprob}, ...]}
            JsonNode tokens = lp.path("tokens");
            for (int i = 0; i < tokens.size(); i++) {
                List<OpenAiResult.TopLogprob> top = new ArrayList<>();
                JsonNode tl = lp.path("top_logprobs").path(i);
                for (Iterator<Map.Entry<String, JsonNode>> it = tl.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    top.add(new OpenAiResult.TopLogprob(e.getKey(), e.getValue().asDouble()));
                }
                top.sort((a, b) -> Double.compare(b.logprob(), a.logprob()));
                out.add(new OpenAiResult.TokenLogprob(tokens.path(i).asText(),
                        lp.path("token_logprobs").path(i).asDouble(), top));
            }
        }
        return out;
    }

    /** @return {@code error.message} of an OpenAI-style error body, else the start of the body, or null */
    static String errorMessage(String body) {
        if (body == null || body.isEmpty()) {
            return null;
        }
        try {
            JsonNode root = OpenAiRequest.JSON.readTree(body);
            JsonNode m = root.path("error").path("message");
            if (m.isTextual()) {
                return m.asText();
            }
            if (root.path("error").isTextual()) {
                return root.path("error").asText();
            }
            if (root.path("message").isTextual()) {
                return root.path("message").asText();
            }
        } catch (Exception ignored) {
            // not JSON: quote the start
        }
        String s = body.strip();
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }
}
