package io.stoker.spark.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.openai.ChatMessage;
import io.stoker.llm.openai.OpenAiEndpoint;
import io.stoker.llm.openai.OpenAiRequest;
import io.stoker.llm.tokenizer.ChatTemplate;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The first stage of an executor's HTTP processor, on a CPU actor: turns each row of a {@link RequestBatch} into an
 * OpenAI-compatible request body. The body is the call's {@code extra_body}, then the sampling options the call set
 * explicitly (max_tokens always), then the row's sampling column: known fields under their OpenAI names (logprobs
 * as the endpoint expects them), any other field passed through as is (e.g. {@code response_format}, {@code n},
 * server-specific fields). A row without a usable prompt or with malformed messages becomes a row error; sampling
 * values are checked by the server, whose refusal (HTTP 400) becomes the row's error.
 */
public final class HttpRequestPreparer {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Body fields a JSON sampling value may not override: the input, the model and streaming. */
    static final java.util.Set<String> BODY_INPUT_FIELDS = java.util.Set.of("model", "messages", "prompt", "stream",
            "stream_options");

    private final String model;

    /** @param model the model id the requests name (the call's, or the managed server's) */
    public HttpRequestPreparer(String model) {
        this.model = model;
    }

    /** Graph step: one outcome per row, in input order. */
    public RowBatch prepare(RequestBatch batch) {
        VectorSchemaRoot root = batch.rows();
        LlmSpec spec = batch.spec();
        FieldVector input = root.getVector(0);
        FieldVector sampling = root.getFieldVectors().size() > 1 ? root.getVector(1) : null;
        boolean messagesInput = !(input instanceof VarCharVector);
        if (messagesInput && !spec.http().chat()) {
            throw new IllegalArgumentException("LLM call to " + model + " takes a messages column,"
                    + " which needs endpoint=chat (it is completions)");
        }
        ObjectNode base = base(spec);
        List<RowOutcome> out = new ArrayList<>(root.getRowCount());
        for (int i = 0; i < root.getRowCount(); i++) {
            out.add(prepareRow(spec, model, base, input, sampling, i, messagesInput));
        }
        return new RowBatch(batch, out);
    }

    /** The body fields every row of the call shares. */
    static ObjectNode base(LlmSpec spec) {
        ObjectNode body = JSON.createObjectNode();
        if (spec.http().extraBody() != null) {
            try {
                body.setAll((ObjectNode) JSON.readTree(spec.http().extraBody()));
            } catch (java.io.IOException e) {
                throw new IllegalStateException("extra_body was validated on the driver", e);
            }
        }
        var d = spec.defaults();
        body.put("max_tokens", d.maxTokens());
        for (LlmOption o : LlmSpec.SAMPLING_OPTIONS) {
            if (!spec.isSet(o) || o == LlmOption.MAX_TOKENS || o == LlmOption.SEED) {
                continue;
            }
            switch (o) {
                case TEMPERATURE -> body.put("temperature", d.temperature());
                case TOP_P -> body.put("top_p", d.topP());
                case TOP_K -> body.put("top_k", d.topK());
                case MIN_P -> body.put("min_p", d.minP());
                case PRESENCE_PENALTY -> body.put("presence_penalty", d.presencePenalty());
                case FREQUENCY_PENALTY -> body.put("frequency_penalty", d.frequencyPenalty());
                case REPETITION_PENALTY -> body.put("repetition_penalty", d.repetitionPenalty());
                case STOP -> body.set("stop", JSON.valueToTree(d.stop()));
                case IGNORE_EOS -> body.put("ignore_eos", d.ignoreEos());
                case LOGPROBS -> logprobs(body, spec.http().chat(), d.logprobs());
                default -> throw new IllegalStateException(o.key());
            }
        }
        return body;
    }

    private static void logprobs(ObjectNode body, boolean chat, int k) {
        if (chat) {
            body.put("logprobs", k > 0);
            if (k > 0) {
                body.put("top_logprobs", k);
            } else {
                body.remove("top_logprobs");
            }
        } else if (k > 0) {
            body.put("logprobs", k);
        } else {
            body.remove("logprobs");
        }
    }

    private static RowOutcome prepareRow(LlmSpec spec, String model, ObjectNode base, FieldVector input,
                                         FieldVector sampling, int row, boolean messagesInput) {
        ObjectNode body = base.deepCopy();
        String identity;
        try {
            if (messagesInput) {
                List<ChatTemplate.Message> msgs = RequestPreparer.withSystem(spec,
                        RequestPreparer.messages(input.getObject(row)));
                body.set("messages", messagesJson(msgs));
                identity = msgs.toString();
            } else {
                Object v = input.getObject(row);
                if (v == null) {
                    return RowOutcome.error("prompt is null; give every row a prompt (filter out nulls or use"
                            + " coalesce)", 0);
                }
                String prompt = v.toString();
                if (prompt.isBlank()) {
                    return RowOutcome.error("prompt is empty; give every row a non-empty prompt", 0);
                }
                if (spec.http().chat()) {
                    List<ChatTemplate.Message> msgs = new ArrayList<>();
                    msgs.add(new ChatTemplate.Message("user", prompt));
                    body.set("messages", messagesJson(RequestPreparer.withSystem(spec, msgs)));
                } else {
                    body.put("prompt", prompt);
                }
                identity = prompt;
            }
        } catch (RequestPreparer.MalformedRow e) {
            return RowOutcome.error(e.getMessage(), 0);
        }
        Object s = sampling == null ? null : sampling.getObject(row);
        boolean rowSeed = false;
        if (s != null && sampling instanceof VarCharVector) {
            // a request body as JSON text (e.g. an OpenAI Batch line's body): every field but the input goes through
            try {
                JsonNode extra = JSON.readTree(s.toString());
                if (!extra.isObject()) {
                    return RowOutcome.error("invalid sampling values: the sampling column must hold a JSON object",
                            0);
                }
                extra.fields().forEachRemaining(e -> {
                    if (!BODY_INPUT_FIELDS.contains(e.getKey())) {
                        body.set(e.getKey(), e.getValue());
                    }
                });
                rowSeed = extra.has("seed");
            } catch (java.io.IOException e) {
                return RowOutcome.error("invalid sampling values: the sampling column is not JSON: "
                        + e.getMessage().split("\n")[0], 0);
            }
        } else if (s != null) {
            try {
                for (Map.Entry<String, Object> e : RequestPreparer.entries(s, sampling).entrySet()) {
                    Object v = json(RequestPreparer.plain(e.getValue()));
                    if (v == null) {
                        continue;
                    }
                    String k = e.getKey();
                    rowSeed |= k.equals("seed");
                    if (k.equals("logprobs")) {
                        logprobs(body, spec.http().chat(), ((Number) v).intValue());
                    } else if (k.equals("response_format") && v instanceof String text) {
                        body.set(k, JSON.readTree(text));
                    } else {
                        body.set(k, JSON.valueToTree(v));
                    }
                }
            } catch (java.io.IOException | ClassCastException e) {
                return RowOutcome.error("invalid sampling values: " + e.getMessage().split("\n")[0]
                        + " (response_format must be a JSON object, logprobs a number)", 0);
            }
        }
        if (!rowSeed && spec.defaults().seed() != null) {
            body.put("seed", RequestPreparer.rowSeed(spec.defaults().seed(), identity.codePoints().toArray()));
        }
        body.put("model", model);
        OpenAiEndpoint endpoint = spec.http().chat() ? OpenAiEndpoint.CHAT_COMPLETIONS : OpenAiEndpoint.COMPLETIONS;
        return RowOutcome.request(OpenAiRequest.of(endpoint, body), 0);
    }

    private static JsonNode messagesJson(List<ChatTemplate.Message> msgs) {
        List<ChatMessage> out = new ArrayList<>(msgs.size());
        for (ChatTemplate.Message m : msgs) {
            out.add(new ChatMessage(m.role(), m.content()));
        }
        return JSON.valueToTree(out);
    }

    /** Arrow values (Text, nested lists and maps) as plain Java values Jackson can write. */
    private static Object json(Object v) {
        if (v instanceof org.apache.arrow.vector.util.Text) {
            return v.toString();
        }
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(k.toString(), json(x)));
            return out;
        }
        if (v instanceof Collection<?> c) {
            List<Object> out = new ArrayList<>();
            c.forEach(x -> out.add(json(x)));
            return out;
        }
        return v;
    }
}
