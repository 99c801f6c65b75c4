package io.stoker.serve;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.sample.TokenLogprobs;
import io.stoker.llm.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * OpenAI's response shapes: {@code chat.completion}, {@code chat.completion.chunk}, {@code text_completion} (whole
 * and streamed), {@code usage}, both logprobs formats, and the model list. A token's text in logprobs is the token
 * decoded alone (special tokens kept), its {@code bytes} that text's UTF-8.
 *
 * <p>Thread-safety: immutable; the tokenizer is thread-safe.
 */
final class ResponseJson {
    private final String model;
    private final Tokenizer tokenizer;

    ResponseJson(String model, Tokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
    }

    /** One finished choice of a non-streamed response. */
    record Choice(int index, String text, String finishReason, List<TokenLogprobs> logprobs) {
    }

    ObjectNode chatCompletion(String id, long created, List<Choice> choices, long promptTokens, long completionTokens,
                              int topLogprobs) {
        ObjectNode r = head(id, "chat.completion", created);
        ArrayNode arr = r.putArray("choices");
        for (Choice c : choices) {
            ObjectNode o = arr.addObject();
            o.put("index", c.index());
            ObjectNode m = o.putObject("message");
            m.put("role", "assistant");
            m.put("content", c.text());
            m.putNull("refusal");
            if (topLogprobs >= 0) {
                o.set("logprobs", chatLogprobs(c.logprobs(), topLogprobs));
            } else {
                o.putNull("logprobs");
            }
            o.put("finish_reason", c.finishReason());
        }
        r.set("usage", usage(promptTokens, completionTokens));
        return r;
    }

    ObjectNode textCompletion(String id, long created, List<Choice> choices, long promptTokens, long completionTokens,
                              int topLogprobs) {
        ObjectNode r = head(id, "text_completion", created);
        ArrayNode arr = r.putArray("choices");
        for (Choice c : choices) {
            ObjectNode o = arr.addObject();
            o.put("index", c.index());
            o.put("text", c.text());
            if (topLogprobs >= 0) {
                o.set("logprobs", textLogprobs(c.logprobs(), topLogprobs, 0));
            } else {
                o.putNull("logprobs");
            }
            o.put("finish_reason", c.finishReason());
        }
        r.set("usage", usage(promptTokens, completionTokens));
        return r;
    }

    /**
     * One streamed chunk for one choice.
     *
     * @param role         chat only: set on a choice's first chunk
     * @param text         new text (may be empty)
     * @param logprobs     logprobs of the tokens in this chunk, or null
     * @param finishReason null until the choice's last chunk
     * @param usageNull    add {@code "usage": null} (when the client asked for a usage chunk at the end)
     */
    ObjectNode chunk(boolean chat, String id, long created, int index, String role, String text,
                     List<TokenLogprobs> logprobs, int topLogprobs, int textOffset, String finishReason,
                     boolean usageNull) {
        ObjectNode r = head(id, chat ? "chat.completion.chunk" : "text_completion", created);
        ObjectNode o = r.putArray("choices").addObject();
        o.put("index", index);
        if (chat) {
            ObjectNode d = o.putObject("delta");
            if (role != null) {
                d.put("role", role);
            }
            if (text != null) {
                d.put("content", text);
            }
        } else {
            o.put("text", text == null ? "" : text);
        }
        if (logprobs != null && !logprobs.isEmpty()) {
            o.set("logprobs", chat ? chatLogprobs(logprobs, topLogprobs) : textLogprobs(logprobs, topLogprobs,
                    textOffset));
        } else {
            o.putNull("logprobs");
        }
        if (finishReason == null) {
            o.putNull("finish_reason");
        } else {
            o.put("finish_reason", finishReason);
        }
        if (usageNull) {
            r.putNull("usage");
        }
        return r;
    }

    /** The last chunk of a stream that asked for {@code include_usage}: no choices, the totals. */
    ObjectNode usageChunk(boolean chat, String id, long created, long promptTokens, long completionTokens) {
        ObjectNode r = head(id, chat ? "chat.completion.chunk" : "text_completion", created);
        r.putArray("choices");
        r.set("usage", usage(promptTokens, completionTokens));
        return r;
    }

    ObjectNode usage(long promptTokens, long completionTokens) {
        ObjectNode u = Json.MAPPER.createObjectNode();
        u.put("prompt_tokens", promptTokens);
        u.put("completion_tokens", completionTokens);
        u.put("total_tokens", promptTokens + completionTokens);
        return u;
    }

    ObjectNode models(long created, int maxModelLen) {
        ObjectNode r = Json.MAPPER.createObjectNode();
        r.put("object", "list");
        ObjectNode m = r.putArray("data").addObject();
        m.put("id", model);
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "stoker");
        m.put("max_model_len", maxModelLen);
        return r;
    }

    /** Chat format: {@code {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}}. */
    private ObjectNode chatLogprobs(List<TokenLogprobs> lps, int top) {
        ObjectNode r = Json.MAPPER.createObjectNode();
        ArrayNode content = r.putArray("content");
        for (TokenLogprobs lp : lps) {
            ObjectNode t = content.addObject();
            tokenEntry(t, lp.token(), lp.logprob());
            ArrayNode alts = t.putArray("top_logprobs");
            for (int i = 0; i < Math.min(top, lp.topTokens().length); i++) {
                tokenEntry(alts.addObject(), lp.topTokens()[i], lp.topLogprobs()[i]);
            }
        }
        r.putNull("refusal");
        return r;
    }

    private void tokenEntry(ObjectNode t, int token, float logprob) {
        String s = tokenText(token);
        t.put("token", s);
        t.put("logprob", logprob);
        ArrayNode bytes = t.putArray("bytes");
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xff);
        }
    }

    /**
     * Completions format: {@code {"tokens", "token_logprobs", "top_logprobs": [{token: logprob}], "text_offset"}};
     * offsets count characters from {@code textOffset}, token texts laid end to end.
     */
    private ObjectNode textLogprobs(List<TokenLogprobs> lps, int top, int textOffset) {
        ObjectNode r = Json.MAPPER.createObjectNode();
        ArrayNode tokens = r.putArray("tokens");
        ArrayNode values = r.putArray("token_logprobs");
        ArrayNode tops = r.putArray("top_logprobs");
        ArrayNode offsets = r.putArray("text_offset");
        int off = textOffset;
        for (TokenLogprobs lp : lps) {
            String s = tokenText(lp.token());
            tokens.add(s);
            values.add(lp.logprob());
            ObjectNode alts = tops.addObject();
            for (int i = 0; i < Math.min(top, lp.topTokens().length); i++) {
                alts.put(tokenText(lp.topTokens()[i]), lp.topLogprobs()[i]);
            }
            offsets.add(off);
            off += s.length();
        }
        return r;
    }

    String tokenText(int token) {
        return tokenizer.decode(new int[]{token}, false);
    }

    private ObjectNode head(String id, String object, long created) {
        ObjectNode r = Json.MAPPER.createObjectNode();
        r.put("id", id);
        r.put("object", object);
        r.put("created", created);
        r.put("model", model);
        r.putNull("system_fingerprint");
        return r;
    }
}
