package io.stoker.serve;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.tokenizer.ChatTemplate;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Validates a completion request body field by field; every error is a 400 (404 for an unknown model) naming the
 * field. Fields OpenAI defines that this server cannot honour (tools, logit_bias, structured output, echo, suffix)
 * are refused rather than silently ignored; unknown fields are ignored, as OpenAI-compatible servers do.
 */
final class RequestParser {
    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    private final String servedModelName;
    private final int maxN;

    RequestParser(String servedModelName, int maxN) {
        this.servedModelName = servedModelName;
        this.maxN = maxN;
    }

    CompletionRequest parse(boolean chat, byte[] body) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(body);
        } catch (IOException e) {
            throw ApiError.badRequest(null, "the request body is not valid JSON: "
                    + String.valueOf(e.getMessage()).split("\n")[0]);
        }
        if (root == null || !root.isObject()) {
            throw ApiError.badRequest(null, "the request body must be a JSON object");
        }
        JsonNode model = root.get("model");
        if (model == null || !model.isTextual()) {
            throw ApiError.badRequest("model", "'model' is required and must be a string; this server serves '"
                    + servedModelName + "'");
        }
        if (!model.asText().equals(servedModelName)) {
            throw new ApiError(HttpResponseStatus.NOT_FOUND, "invalid_request_error", "model", "model_not_found",
                    "The model '" + model.asText() + "' does not exist; this server serves '" + servedModelName
                            + "' (see GET /v1/models)");
        }
        refuseUnsupported(root, chat);

        List<CompletionRequest.Prompt> prompts = chat ? List.of(new CompletionRequest.Prompt(messages(root), null,
                null)) : prompts(root);
        boolean stream = bool(root, "stream", false);
        boolean includeUsage = false;
        JsonNode so = root.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!so.isObject()) {
                throw ApiError.badRequest("stream_options", "'stream_options' must be an object such as"
                        + " {\"include_usage\": true}");
            }
            includeUsage = bool(so, "include_usage", false);
        }
        int n = integer(root, "n", 1, 1, maxN);
        if (!chat && root.hasNonNull("best_of") && integer(root, "best_of", n, 1, maxN) != n) {
            throw ApiError.unsupported("best_of", "'best_of' other than n is not supported; drop it or set it to n");
        }

        Integer maxTokens = null;
        String mtName = chat && root.hasNonNull("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        if (root.hasNonNull(mtName)) {
            maxTokens = integer(root, mtName, 16, 1, Integer.MAX_VALUE);
        } else if (!chat) {
            maxTokens = 16;
        }

        int topLogprobs = -1;
        if (chat) {
            if (bool(root, "logprobs", false)) {
                topLogprobs = integer(root, "top_logprobs", 0, 0, SamplingParams.MAX_LOGPROBS);
            } else if (root.hasNonNull("top_logprobs")) {
                throw ApiError.badRequest("top_logprobs", "'top_logprobs' needs \"logprobs\": true");
            }
        } else if (root.hasNonNull("logprobs")) {
            topLogprobs = integer(root, "logprobs", 0, 0, SamplingParams.MAX_LOGPROBS);
        }

        SamplingParams.Builder p = SamplingParams.builder()
                .temperature(number(root, "temperature", 1.0, 0, 2))
                .topP(number(root, "top_p", 1.0, 0, 1))
                .minP(number(root, "min_p", 0.0, 0, 1))
                .presencePenalty(number(root, "presence_penalty", 0.0, -2, 2))
                .frequencyPenalty(number(root, "frequency_penalty", 0.0, -2, 2))
                .repetitionPenalty(number(root, "repetition_penalty", 1.0, 0, Double.MAX_VALUE))
                .stop(stops(root))
                .stopTokenIds(stopTokenIds(root))
                .ignoreEos(bool(root, "ignore_eos", false))
                .logprobs(topLogprobs < 0 ? 0 : Math.max(1, topLogprobs))
                .maxTokens(1);
        int topK = integer(root, "top_k", 0, -1, Integer.MAX_VALUE);
        p.topK(Math.max(topK, 0));
        if (root.hasNonNull("top_p") && root.get("top_p").asDouble() == 0) {
            throw ApiError.badRequest("top_p", "'top_p' must be in (0, 1]; use temperature 0 for greedy decoding");
        }
        if (root.hasNonNull("repetition_penalty") && root.get("repetition_penalty").asDouble() == 0) {
            throw ApiError.badRequest("repetition_penalty", "'repetition_penalty' must be > 0 (1 disables it)");
        }
        if (root.hasNonNull("seed")) {
            JsonNode s = root.get("seed");
            if (!s.isIntegralNumber() || !s.canConvertToLong()) {
                throw ApiError.badRequest("seed", "'seed' must be an integer");
            }
            p.seed(s.asLong());
        }
        SamplingParams params;
        try {
            params = p.build();
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest(null, e.getMessage());
        }
        return new CompletionRequest(chat, prompts, n, stream, includeUsage, maxTokens, params, topLogprobs);
    }

    private static void refuseUnsupported(JsonNode root, boolean chat) {
        for (String f : new String[]{"tools", "functions"}) {
            JsonNode t = root.get(f);
            if (t != null && !t.isNull() && !(t.isArray() && t.isEmpty())) {
                throw ApiError.unsupported(f, "'" + f + "' (tool calling) is not supported by this server");
            }
        }
        JsonNode tc = root.get("tool_choice");
        if (tc != null && !tc.isNull() && !(tc.isTextual() && tc.asText().equals("none"))) {
            throw ApiError.unsupported("tool_choice", "'tool_choice' is not supported by this server (no tools)");
        }
        JsonNode lb = root.get("logit_bias");
        if (lb != null && !lb.isNull() && !(lb.isObject() && lb.isEmpty())) {
            throw ApiError.unsupported("logit_bias", "'logit_bias' is not supported by this server");
        }
        JsonNode rf = root.get("response_format");
        if (rf != null && !rf.isNull()) {
            String type = rf.path("type").asText("");
            if (!type.equals("text")) {
                throw ApiError.unsupported("response_format", "response_format type '" + type + "' is not supported"
                        + " by this server (no structured output yet); send {\"type\": \"text\"} or leave it out");
            }
        }
        if (!chat) {
            if (bool(root, "echo", false)) {
                throw ApiError.unsupported("echo", "'echo' is not supported by this server; prepend the prompt"
                        + " yourself");
            }
            if (root.hasNonNull("suffix")) {
                throw ApiError.unsupported("suffix", "'suffix' (insertion) is not supported by this server");
            }
        }
    }

    private static List<ChatTemplate.Message> messages(JsonNode root) {
        JsonNode ms = root.get("messages");
        if (ms == null || !ms.isArray() || ms.isEmpty()) {
            throw ApiError.badRequest("messages", "'messages' is required: a non-empty array of"
                    + " {\"role\", \"content\"}");
        }
        List<ChatTemplate.Message> out = new ArrayList<>();
        for (int i = 0; i < ms.size(); i++) {
            JsonNode m = ms.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) {
                throw ApiError.badRequest(where, where + " must be an object with 'role' and 'content'");
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual() || !ROLES.contains(role.asText())) {
                throw ApiError.badRequest(where + ".role", where + ".role must be one of " + ROLES);
            }
            String r = role.asText().equals("developer") ? "system" : role.asText();
            out.add(new ChatTemplate.Message(r, content(m.get("content"), where + ".content", r)));
        }
        return out;
    }

    private static String content(JsonNode c, String where, String role) {
        if (c == null || c.isNull()) {
            if (role.equals("assistant")) {
                return "";
            }
            throw ApiError.badRequest(where, where + " is required: a string or an array of text parts");
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (int j = 0; j < c.size(); j++) {
                JsonNode part = c.get(j);
                if (!part.path("type").asText().equals("text") || !part.path("text").isTextual()) {
                    throw ApiError.unsupported(where + "[" + j + "]", where + "[" + j + "] must be {\"type\": \"text\","
                            + " \"text\": ...}; images, audio and files are not supported by this server");
                }
                if (sb.length() > 0) {
                    sb.append('\n');
                }
                sb.append(part.path("text").asText());
            }
            return sb.toString();
        }
        throw ApiError.badRequest(where, where + " must be a string or an array of text parts, not " + c.getNodeType());
    }

    private static List<CompletionRequest.Prompt> prompts(JsonNode root) {
        JsonNode p = root.get("prompt");
        String shape = "'prompt' is required: a string, an array of strings, an array of token ids, or an array of"
                + " such arrays";
        if (p == null || p.isNull()) {
            throw ApiError.badRequest("prompt", shape);
        }
        if (p.isTextual()) {
            return List.of(new CompletionRequest.Prompt(null, p.asText(), null));
        }
        if (!p.isArray() || p.isEmpty()) {
            throw ApiError.badRequest("prompt", shape);
        }
        List<CompletionRequest.Prompt> out = new ArrayList<>();
        if (p.get(0).isIntegralNumber()) {
            out.add(new CompletionRequest.Prompt(null, null, ids(p, "prompt")));
            return out;
        }
        for (int i = 0; i < p.size(); i++) {
            JsonNode e = p.get(i);
            if (e.isTextual()) {
                out.add(new CompletionRequest.Prompt(null, e.asText(), null));
            } else if (e.isArray() && !e.isEmpty()) {
                out.add(new CompletionRequest.Prompt(null, null, ids(e, "prompt[" + i + "]")));
            } else {
                throw ApiError.badRequest("prompt[" + i + "]", shape);
            }
        }
        return out;
    }

    private static int[] ids(JsonNode arr, String where) {
        int[] ids = new int[arr.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode v = arr.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw ApiError.badRequest(where, where + "[" + i + "] must be a token id (an integer), not " + v);
            }
            ids[i] = v.asInt();
        }
        return ids;
    }

    private static List<String> stops(JsonNode root) {
        JsonNode s = root.get("stop");
        if (s == null || s.isNull()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (s.isTextual()) {
            out.add(s.asText());
        } else if (s.isArray()) {
            for (JsonNode e : s) {
                if (!e.isTextual()) {
                    throw ApiError.badRequest("stop", "'stop' must be a string or an array of strings");
                }
                out.add(e.asText());
            }
        } else {
            throw ApiError.badRequest("stop", "'stop' must be a string or an array of strings");
        }
        for (String x : out) {
            if (x.isEmpty()) {
                throw ApiError.badRequest("stop", "'stop' strings must not be empty");
            }
        }
        return out;
    }

    private static Set<Integer> stopTokenIds(JsonNode root) {
        JsonNode s = root.get("stop_token_ids");
        if (s == null || s.isNull()) {
            return Set.of();
        }
        if (!s.isArray()) {
            throw ApiError.badRequest("stop_token_ids", "'stop_token_ids' must be an array of token ids");
        }
        Set<Integer> out = new LinkedHashSet<>();
        for (int id : ids(s, "stop_token_ids")) {
            out.add(id);
        }
        return out;
    }

    private static boolean bool(JsonNode root, String name, boolean dflt) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw ApiError.badRequest(name, "'" + name + "' must be true or false, not " + v);
        }
        return v.asBoolean();
    }

    private static int integer(JsonNode root, String name, int dflt, int min, int max) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw ApiError.badRequest(name, "'" + name + "' must be an integer, not " + v);
        }
        int i = v.asInt();
        if (i < min || i > max) {
            throw ApiError.badRequest(name, "'" + name + "' is " + i + "; it must be " + range(min, max));
        }
        return i;
    }

    private static double number(JsonNode root, String name, double dflt, double min, double max) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw ApiError.badRequest(name, "'" + name + "' must be a number, not " + v);
        }
        double d = v.asDouble();
        if (!(d >= min && d <= max)) {
            throw ApiError.badRequest(name, "'" + name + "' is " + v + "; it must be in [" + fmt(min) + ", "
                    + (max == Double.MAX_VALUE ? "inf" : fmt(max)) + "]");
        }
        return d;
    }

    private static String range(int min, int max) {
        return max == Integer.MAX_VALUE ? ">= " + min : "in [" + min + ", " + max + "]";
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
