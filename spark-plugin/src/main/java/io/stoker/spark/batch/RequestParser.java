package io.stoker.spark.batch;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns one line of an OpenAI Batch input file into a {@link ParsedRequest}: checks UTF-8, parses the JSON (duplicate
 * keys and trailing content refused), checks {@code custom_id}, {@code method}, {@code url} and {@code body}, then
 * reads the body's model, messages or prompt and sampling fields with their types checked. Every problem becomes an
 * error naming the file, the line, the field and the fix; the parser never throws for bad input.
 *
 * <p>Body fields no typed column carries (e.g. {@code response_format}, {@code tools}, {@code n: 2}) are listed in
 * {@code other_fields}, so a backend can refuse or pass them on; fields left at their off value ({@code n: 1},
 * {@code stream: false}, {@code logprobs: false}, null) are not listed. Single-threaded: one parser per task.
 */
final class RequestParser {
    /** Off values of fields that have no column: left at these, they change nothing. */
    private static final Map<String, String> OFF_VALUES = Map.of("n", "1", "stream", "false", "logprobs", "false",
            "top_logprobs", "0", "echo", "false", "best_of", "1");
    private static final Set<String> SAMPLING_NUMBERS = Set.of("temperature", "top_p", "min_p", "presence_penalty",
            "frequency_penalty", "repetition_penalty");
    private static final int SNIPPET = 40;

    private final ObjectMapper mapper = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private final JsonFactory streaming = new JsonFactory();
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private final String file;
    private final int maxLineBytes;

    /**
     * @param file         the file's URI, as errors and the {@code file} column show it
     * @param maxLineBytes the line length limit (for the message of a line over it)
     */
    RequestParser(String file, int maxLineBytes) {
        this.file = file;
        this.maxLineBytes = maxLineBytes;
    }

    /** A problem with the current line; the message is complete (file, line, field, fix). */
    private static final class Bad extends Exception {
        private static final long serialVersionUID = 1L;

        Bad(String message) {
            super(message, null, false, false);
        }
    }

    private String where(long line) {
        return "line " + line + " of " + file + ": ";
    }

    /**
     * @param bytes     the line (without its line break); only {@code length} bytes are valid
     * @param fullBytes the line's full length: more than {@code length} when the reader cut it at the limit
     */
    ParsedRequest parse(byte[] bytes, int length, long fullBytes, long line) {
        if (fullBytes > length) {
            return ParsedRequest.lineError(customId(bytes, length), null, null, null, file, line, where(line)
                    + fullBytes + " bytes, over the limit of " + maxLineBytes + " bytes per line (option maxLineBytes);"
                    + " shorten the request or raise maxLineBytes");
        }
        String text;
        try {
            text = decode(bytes, length, line);
        } catch (Bad e) {
            return ParsedRequest.lineError(customId(bytes, length), null, null, null, file, line, e.getMessage());
        }
        JsonNode root;
        try {
            root = mapper.readTree(text);
        } catch (JsonProcessingException e) {
            int column = e.getLocation() == null ? -1 : e.getLocation().getColumnNr();
            return ParsedRequest.lineError(customId(bytes, length), null, null, null, file, line, where(line)
                    + "not valid JSON" + (column > 0 ? " at column " + column : "") + ": " + firstLine(
                    e.getOriginalMessage()) + "; each line must be one JSON object");
        }
        if (!root.isObject()) {
            return ParsedRequest.lineError(null, null, null, null, file, line, where(line)
                    + "a request line must be a JSON object with custom_id, method, url and body, not " + kind(root));
        }
        String customId = null;
        String method = null;
        String url = null;
        String body = null;
        try {
            customId = requiredString(root, "custom_id", line,
                    "give every request a unique string custom_id");
            if (customId.isEmpty()) {
                throw new Bad(where(line) + "custom_id is empty; give every request a unique, non-empty custom_id");
            }
            method = requiredString(root, "method", line, "set \"method\": \"POST\"");
            url = requiredString(root, "url", line, "set \"url\": \"" + RequestSchema.CHAT_URL + "\" or \""
                    + RequestSchema.COMPLETIONS_URL + "\"");
            JsonNode b = root.get("body");
            if (b != null && b.isObject()) {
                body = b.toString();
            }
            if (!method.equals("POST")) {
                throw new Bad(where(line) + "method must be \"POST\", not " + snippet(root.get("method")));
            }
            if (!url.equals(RequestSchema.CHAT_URL) && !url.equals(RequestSchema.COMPLETIONS_URL)) {
                throw new Bad(where(line) + "url " + snippet(root.get("url")) + " is not supported; use "
                        + RequestSchema.CHAT_URL + " or " + RequestSchema.COMPLETIONS_URL);
            }
            if (b == null || b.isNull()) {
                throw new Bad(where(line) + "body is missing; give the request body as a JSON object");
            }
            if (!b.isObject()) {
                throw new Bad(where(line) + "body must be a JSON object, not " + kind(b));
            }
        } catch (Bad e) {
            return ParsedRequest.lineError(customId, method, url, body, file, line, e.getMessage());
        }
        return parseBody(customId, url, root.get("body"), body, line);
    }

    private ParsedRequest parseBody(String customId, String url, JsonNode b, String body, long line) {
        boolean chat = url.equals(RequestSchema.CHAT_URL);
        String model = null;
        List<ParsedRequest.Message> messages = null;
        String prompt = null;
        Object[] sampling = new Object[RequestSchema.SAMPLING_FIELDS.length];
        List<String> other = new ArrayList<>();
        try {
            JsonNode m = b.get("model");
            if (m != null && !m.isNull()) {
                if (!m.isTextual()) {
                    throw bodyField(line, "model", "must be a string", m);
                }
                model = m.asText();
            }
            if (chat) {
                messages = messages(b.get("messages"), line, other);
            } else {
                prompt = prompt(b.get("prompt"), line, other);
            }
            Integer maxTokens = null;
            Integer maxCompletionTokens = null;
            for (Iterator<Map.Entry<String, JsonNode>> it = b.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String k = e.getKey();
                JsonNode v = e.getValue();
                if (v.isNull() || k.equals("model") || k.equals(chat ? "messages" : "prompt")) {
                    continue;
                }
                int slot = samplingSlot(k);
                if (SAMPLING_NUMBERS.contains(k)) {
                    sampling[slot] = number(line, k, v);
                } else if (k.equals("top_k")) {
                    sampling[slot] = whole(line, k, v);
                } else if (k.equals("max_tokens")) {
                    maxTokens = whole(line, k, v);
                } else if (k.equals("max_completion_tokens")) {
                    maxCompletionTokens = whole(line, k, v);
                } else if (k.equals("seed")) {
                    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                        throw bodyField(line, k, "must be a whole number that fits in 64 bits", v);
                    }
                    sampling[slot] = v.longValue();
                } else if (k.equals("ignore_eos")) {
                    if (!v.isBoolean()) {
                        throw bodyField(line, k, "must be true or false", v);
                    }
                    sampling[slot] = v.booleanValue();
                } else if (k.equals("stop")) {
                    sampling[slot] = stop(line, v);
                } else if (k.equals("stop_token_ids")) {
                    if (!v.isArray()) {
                        throw bodyField(line, k, "must be an array of token ids", v);
                    }
                    List<Integer> ids = new ArrayList<>();
                    for (int i = 0; i < v.size(); i++) {
                        ids.add(whole(line, k + "[" + i + "]", v.get(i)));
                    }
                    sampling[slot] = ids;
                } else if (!offValue(k, v)) {
                    other.add(k);
                }
            }
            Integer max = maxCompletionTokens != null ? maxCompletionTokens : maxTokens;
            sampling[samplingSlot("max_tokens")] = max;
        } catch (Bad e) {
            return new ParsedRequest(customId, "POST", url, model, null, null, null, null, body, file, line, null,
                    e.getMessage());
        }
        return new ParsedRequest(customId, "POST", url, model, messages, prompt, sampling, List.copyOf(other), body,
                file, line, null, null);
    }

    private static int samplingSlot(String k) {
        for (int i = 0; i < RequestSchema.SAMPLING_FIELDS.length; i++) {
            if (RequestSchema.SAMPLING_FIELDS[i].equals(k)) {
                return i;
            }
        }
        return -1;
    }

    private static boolean offValue(String k, JsonNode v) {
        String off = OFF_VALUES.get(k);
        if (off == null) {
            return false;
        }
        if (v.isBoolean() || v.isIntegralNumber()) {
            return v.asText().equals(off) || (k.equals("logprobs") && v.isIntegralNumber() && v.asLong() == 0);
        }
        return false;
    }

    private List<ParsedRequest.Message> messages(JsonNode ms, long line, List<String> other) throws Bad {
        if (ms == null || ms.isNull()) {
            throw new Bad(where(line) + "body.messages is missing; " + RequestSchema.CHAT_URL
                    + " needs a non-empty array of {\"role\", \"content\"} messages");
        }
        if (!ms.isArray() || ms.isEmpty()) {
            throw bodyField(line, "messages", "must be a non-empty array of {\"role\", \"content\"} messages", ms);
        }
        List<ParsedRequest.Message> out = new ArrayList<>(ms.size());
        for (int i = 0; i < ms.size(); i++) {
            JsonNode m = ms.get(i);
            String at = "messages[" + i + "]";
            if (!m.isObject()) {
                throw bodyField(line, at, "must be an object with role and content", m);
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual() || role.asText().isBlank()) {
                throw bodyField(line, at + ".role", "must be a non-empty string (system, user, assistant, ...)",
                        role == null ? null : role);
            }
            String content = content(m.get("content"), at, line, other);
            for (Iterator<String> names = m.fieldNames(); names.hasNext(); ) {
                String n = names.next();
                if (!n.equals("role") && !n.equals("content") && !m.get(n).isNull()) {
                    other.add(at + "." + n);
                }
            }
            out.add(new ParsedRequest.Message(role.asText(), content));
        }
        return out;
    }

    private String content(JsonNode c, String at, long line, List<String> other) throws Bad {
        if (c == null || c.isNull()) {
            return null;
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (!c.isArray()) {
            throw bodyField(line, at + ".content", "must be a string or an array of content parts", c);
        }
        StringBuilder text = new StringBuilder();
        int texts = 0;
        for (int j = 0; j < c.size(); j++) {
            JsonNode part = c.get(j);
            String pat = at + ".content[" + j + "]";
            JsonNode type = part.isObject() ? part.get("type") : null;
            if (type == null || !type.isTextual()) {
                throw bodyField(line, pat, "must be an object with a string type (e.g. {\"type\": \"text\","
                        + " \"text\": \"...\"})", part);
            }
            if (type.asText().equals("text")) {
                JsonNode t = part.get("text");
                if (t == null || !t.isTextual()) {
                    throw bodyField(line, pat + ".text", "must be a string", t);
                }
                if (texts++ > 0) {
                    text.append('\n');
                }
                text.append(t.asText());
            } else {
                other.add(pat + " (" + type.asText() + ")");
            }
        }
        return text.toString();
    }

    private String prompt(JsonNode p, long line, List<String> other) throws Bad {
        if (p == null || p.isNull()) {
            throw new Bad(where(line) + "body.prompt is missing; " + RequestSchema.COMPLETIONS_URL
                    + " needs a prompt string");
        }
        if (p.isTextual()) {
            return p.asText();
        }
        if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            return p.get(0).asText();
        }
        if (p.isArray() && !p.isEmpty()) {
            boolean strings = true;
            boolean ids = true;
            for (JsonNode e : p) {
                strings &= e.isTextual();
                ids &= e.isIntegralNumber() || e.isArray();
            }
            if (strings) {
                other.add("prompt (" + p.size() + " prompts)");
                return null;
            }
            if (ids) {
                other.add("prompt (token ids)");
                return null;
            }
        }
        throw bodyField(line, "prompt", "must be a string", p);
    }

    private List<String> stop(long line, JsonNode v) throws Bad {
        if (v.isTextual()) {
            return List.of(v.asText());
        }
        if (!v.isArray()) {
            throw bodyField(line, "stop", "must be a string or an array of strings", v);
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isTextual()) {
                throw bodyField(line, "stop[" + i + "]", "must be a string", v.get(i));
            }
            out.add(v.get(i).asText());
        }
        return out;
    }

    private Double number(long line, String k, JsonNode v) throws Bad {
        if (!v.isNumber()) {
            throw bodyField(line, k, "must be a number", v);
        }
        return v.doubleValue();
    }

    private Integer whole(long line, String k, JsonNode v) throws Bad {
        if (v == null || !v.isNumber() || v.doubleValue() != Math.rint(v.doubleValue())
                || Math.abs(v.doubleValue()) > Integer.MAX_VALUE) {
            throw bodyField(line, k, "must be a whole number", v);
        }
        return (int) v.doubleValue();
    }

    private Bad bodyField(long line, String field, String must, JsonNode got) {
        return new Bad(where(line) + "body." + field + " " + must + ", not " + (got == null ? "missing"
                : kind(got) + (got.isValueNode() ? " " + snippet(got) : "")));
    }

    private String requiredString(JsonNode root, String name, long line, String fix) throws Bad {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            throw new Bad(where(line) + name + " is missing; " + fix);
        }
        if (!v.isTextual()) {
            throw new Bad(where(line) + name + " must be a string, not " + kind(v) + (v.isValueNode() ? " "
                    + snippet(v) : "") + "; " + fix);
        }
        return v.asText();
    }

    private String decode(byte[] bytes, int length, long line) throws Bad {
        utf8.reset();
        ByteBuffer in = ByteBuffer.wrap(bytes, 0, length);
        CharBuffer out = CharBuffer.allocate(length);
        CoderResult r = utf8.decode(in, out, true);
        if (r.isError()) {
            int at = in.position();
            throw new Bad(where(line) + "not valid UTF-8 (byte 0x" + String.format("%02X", bytes[at] & 0xff)
                    + " at byte " + (at + 1) + " of the line); save the file as UTF-8");
        }
        r = utf8.flush(out);
        if (r.isError()) {
            throw new Bad(where(line) + "not valid UTF-8 at the end of the line; save the file as UTF-8");
        }
        out.flip();
        return out.toString();
    }

    /**
     * @return the line's top-level custom_id when it is a non-empty string that comes before any problem in the line
     * (so a line cut at the limit, or broken later on, still names its request); else null
     */
    String customId(byte[] bytes, int length) {
        try (JsonParser p = streaming.createParser(bytes, 0, length)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken t = p.nextToken();
                if (name.equals("custom_id")) {
                    return t == JsonToken.VALUE_STRING && !p.getText().isEmpty() ? p.getText() : null;
                }
                p.skipChildren();
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    private static String kind(JsonNode n) {
        if (n == null || n.isNull()) {
            return "null";
        }
        if (n.isObject()) {
            return "an object";
        }
        if (n.isArray()) {
            return "an array";
        }
        if (n.isTextual()) {
            return "a string";
        }
        if (n.isBoolean()) {
            return "a boolean";
        }
        if (n.isNumber()) {
            return "a number";
        }
        return n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    }

    private static String snippet(JsonNode v) {
        String s = v == null ? "null" : v.toString();
        return s.length() <= SNIPPET ? s : s.substring(0, SNIPPET) + "...";
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unreadable";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
