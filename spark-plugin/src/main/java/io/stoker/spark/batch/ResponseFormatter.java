package io.stoker.spark.batch;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.sql.Row;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * Writes one results row as a line of OpenAI's Batch output format:
 *
 * <pre>
 * {"id": "batch_req_…", "custom_id": "…",
 *  "response": {"status_code": 200, "request_id": "req_…",
 *               "body": {"id": "chatcmpl-…", "object": "chat.completion", "created": …, "model": "…",
 *                        "choices": [{"index": 0, "message": {"role": "assistant", "content": "…"},
 *                                     "logprobs": null, "finish_reason": "stop"}],
 *                        "usage": {"prompt_tokens": …, "completion_tokens": …, "total_tokens": …}}},
 *  "error": null}
 * </pre>
 *
 * A completions row gets a {@code text_completion} body with {@code choices[].text}. As OpenAI does, a request that
 * fails gets a response with its HTTP status (400 for an invalid request, or the row's {@code status_code}) and an
 * error body {@code {"error": {"message", "type", "param", "code"}}}, and {@code "error": null}; only a line that is
 * not a request at all gets {@code "response": null} and {@code "error": {"code": "invalid_request_line",
 * "message"}}. Ids are derived from a per-write seed and the custom_id. Single-threaded: one per task.
 */
final class ResponseFormatter {
    /** The error code of an output line whose input line was not a request. */
    static final String INVALID_LINE = "invalid_request_line";

    private final ObjectMapper mapper = new ObjectMapper();
    private final StringWriter buffer = new StringWriter(1024);
    private final ResultColumns c;
    private final String defaultModel;
    private final String seed;

    /** One output line and whether it is a successful (status 200) response. */
    record Formatted(String json, boolean ok) {
    }

    /**
     * @param defaultModel the response's model for rows without a model column (or with a null model)
     * @param seed         makes the ids of this write differ from other writes'
     */
    ResponseFormatter(ResultColumns columns, String defaultModel, String seed) {
        this.c = columns;
        this.defaultModel = defaultModel;
        this.seed = seed;
    }

    Formatted format(Row row) {
        buffer.getBuffer().setLength(0);
        String customId = str(row, c.customId());
        String hex = hex(customId != null ? customId : str(row, c.file()) + "#" + (c.line() < 0 ? ""
                : row.isNullAt(c.line()) ? "" : row.get(c.line()).toString()));
        boolean ok;
        try (JsonGenerator g = mapper.getFactory().createGenerator(buffer)) {
            g.writeStartObject();
            g.writeStringField("id", "batch_req_" + hex);
            g.writeStringField("custom_id", customId);
            String lineError = str(row, c.lineError());
            if (lineError != null) {
                g.writeNullField("response");
                g.writeObjectFieldStart("error");
                g.writeStringField("code", INVALID_LINE);
                g.writeStringField("message", lineError);
                g.writeEndObject();
                ok = false;
            } else {
                g.writeObjectFieldStart("response");
                ok = response(g, row, hex);
                g.writeEndObject();
                g.writeNullField("error");
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Formatted(buffer.toString(), ok);
    }

    /** @return true for a status 200 response */
    private boolean response(JsonGenerator g, Row row, String hex) throws IOException {
        Integer status = c.statusCode() < 0 || row.isNullAt(c.statusCode()) ? null : row.getInt(c.statusCode());
        String raw = str(row, c.responseBody());
        String bodyError = str(row, c.bodyError());
        String error = bodyError != null ? bodyError : str(row, c.error());
        if (raw != null && bodyError == null) {
            JsonNode body;
            try {
                body = mapper.readTree(raw);
            } catch (JsonProcessingException e) {
                body = null;
            }
            if (body != null) {
                int s = status == null ? 200 : status;
                g.writeNumberField("status_code", s);
                g.writeStringField("request_id", "req_" + hex);
                g.writeFieldName("body");
                g.writeTree(body);
                return s == 200;
            }
            status = 502;
            error = "the server's response is not JSON: " + (raw.length() > 200 ? raw.substring(0, 200) + "..." : raw);
        }
        if (error != null) {
            int s = bodyError != null || status == null || status == 200 ? 400 : status;
            g.writeNumberField("status_code", s);
            g.writeStringField("request_id", "req_" + hex);
            g.writeObjectFieldStart("body");
            g.writeObjectFieldStart("error");
            g.writeStringField("message", error);
            g.writeStringField("type", s >= 500 ? "server_error" : "invalid_request_error");
            g.writeNullField("param");
            g.writeStringField("code", bodyError != null ? null : str(row, c.errorCode()));
            g.writeEndObject();
            g.writeEndObject();
            return false;
        }
        boolean chat = !RequestSchema.COMPLETIONS_URL.equals(str(row, c.url()));
        String model = str(row, c.model());
        int prompt = row.isNullAt(c.inputTokens()) ? 0 : row.getInt(c.inputTokens());
        int completion = row.isNullAt(c.generatedTokens()) ? 0 : row.getInt(c.generatedTokens());
        g.writeNumberField("status_code", 200);
        g.writeStringField("request_id", "req_" + hex);
        g.writeObjectFieldStart("body");
        g.writeStringField("id", (chat ? "chatcmpl-" : "cmpl-") + hex);
        g.writeStringField("object", chat ? "chat.completion" : "text_completion");
        g.writeNumberField("created", System.currentTimeMillis() / 1000);
        g.writeStringField("model", model != null ? model : defaultModel);
        g.writeArrayFieldStart("choices");
        g.writeStartObject();
        g.writeNumberField("index", 0);
        String text = str(row, c.generatedText());
        if (chat) {
            g.writeObjectFieldStart("message");
            g.writeStringField("role", "assistant");
            g.writeStringField("content", text);
            g.writeEndObject();
        } else {
            g.writeStringField("text", text);
        }
        g.writeNullField("logprobs");
        g.writeStringField("finish_reason", str(row, c.finishReason()));
        g.writeEndObject();
        g.writeEndArray();
        g.writeObjectFieldStart("usage");
        g.writeNumberField("prompt_tokens", prompt);
        g.writeNumberField("completion_tokens", completion);
        g.writeNumberField("total_tokens", prompt + completion);
        g.writeEndObject();
        g.writeEndObject();
        return true;
    }

    private String hex(String key) {
        return UUID.nameUUIDFromBytes((seed + "\u0000" + key).getBytes(StandardCharsets.UTF_8)).toString()
                .replace("-", "");
    }

    private static String str(Row row, int i) {
        return i < 0 || row.isNullAt(i) ? null : row.getString(i);
    }
}
