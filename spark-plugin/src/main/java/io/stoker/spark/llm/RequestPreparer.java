package io.stoker.spark.llm;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.tokenizer.ChatTemplate;
import io.stoker.llm.tokenizer.Tokenizer;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.MapVector;
import org.apache.arrow.vector.util.Text;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The first stage of an executor's LLM processor, on a CPU actor: reads a {@link RequestBatch}'s Arrow rows, applies
 * the chat template (system prompt, messages), tokenizes, and resolves each row's sampling settings (the call's
 * defaults overridden by the row's sampling column; a seed derived from the call's global seed and the prompt when
 * the row sets none). A row that cannot become a request (null or empty prompt, malformed messages, invalid sampling
 * values, a template failure, a prompt longer than the context) becomes a row error naming the problem and the fix.
 *
 * <p>Problems of the whole call (the model has no chat template but the call needs one) throw: every row would fail
 * the same way, so the task fails with that message.
 */
public final class RequestPreparer {
    static final Set<String> SAMPLING_KEYS = Set.of("temperature", "top_p", "top_k", "min_p", "max_tokens", "stop",
            "seed", "presence_penalty", "frequency_penalty", "repetition_penalty", "logprobs", "ignore_eos",
            "stop_token_ids");

    private final LoadedModel model;
    private final int contextLength;
    private final int kvCapacityTokens;
    private final Map<String, ChatTemplate> overrides = new ConcurrentHashMap<>();

    /**
     * @param contextLength    the engine's context limit (prompt + output)
     * @param kvCapacityTokens tokens the engine's KV cache holds
     */
    public RequestPreparer(LoadedModel model, int contextLength, int kvCapacityTokens) {
        this.model = model;
        this.contextLength = contextLength;
        this.kvCapacityTokens = kvCapacityTokens;
    }

    /** Graph step: one outcome per row, in input order. */
    public RowBatch prepare(RequestBatch batch) {
        VectorSchemaRoot root = batch.rows();
        LlmSpec spec = batch.spec();
        FieldVector input = root.getVector(0);
        FieldVector sampling = root.getFieldVectors().size() > 1 ? root.getVector(1) : null;
        boolean messagesInput = !(input instanceof org.apache.arrow.vector.VarCharVector);
        ChatTemplate template = template(spec, messagesInput);
        List<RowOutcome> out = new ArrayList<>(root.getRowCount());
        for (int i = 0; i < root.getRowCount(); i++) {
            out.add(prepareRow(spec, template, input, sampling, i, messagesInput));
        }
        return new RowBatch(batch, out);
    }

    private ChatTemplate template(LlmSpec spec, boolean messagesInput) {
        if (spec.chatTemplate().equals("false")) {
            if (messagesInput) {
                throw new IllegalArgumentException("LLM call on model " + spec.model() + " takes a messages column,"
                        + " which needs a chat template, but chat_template=false; set chat_template=auto");
            }
            return null;
        }
        if (spec.chatTemplateOverride() != null) {
            ChatTemplate base = model.chatTemplate();
            return overrides.computeIfAbsent(spec.chatTemplateOverride(), t -> new ChatTemplate(t,
                    base != null ? base.bosToken() : "", base != null ? base.eosToken() : ""));
        }
        ChatTemplate t = model.chatTemplate();
        if (t == null && (spec.chatTemplate().equals("true") || messagesInput || spec.systemPrompt() != null)) {
            throw new IllegalArgumentException("model " + spec.model() + " has no chat template (tokenizer_config.json"
                    + " chat_template), but the LLM call needs one (" + (messagesInput ? "messages column"
                    : spec.systemPrompt() != null ? "system_prompt" : "chat_template=true")
                    + "); pass chat_template_override, or send plain prompts with chat_template=false");
        }
        return t;
    }

    private RowOutcome prepareRow(LlmSpec spec, ChatTemplate template, FieldVector input, FieldVector sampling,
                                  int row, boolean messagesInput) {
        String text;
        boolean special;
        try {
            if (messagesInput) {
                List<ChatTemplate.Message> msgs = messages(input.getObject(row));
                text = template.render(withSystem(spec, msgs), true);
                special = false;
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
                if (template != null) {
                    List<ChatTemplate.Message> msgs = new ArrayList<>();
                    msgs.add(new ChatTemplate.Message("user", prompt));
                    text = template.render(withSystem(spec, msgs), true);
                    special = false;
                } else {
                    text = prompt;
                    special = true;
                }
            }
        } catch (MalformedRow e) {
            return RowOutcome.error(e.getMessage(), 0);
        } catch (IllegalArgumentException e) {
            return RowOutcome.error(e.getMessage() + "; fix the messages or pass chat_template_override", 0);
        }
        Tokenizer tok = model.requireTokenizer();
        int[] ids = tok.encode(text, special);
        if (ids.length == 0) {
            return RowOutcome.error("prompt encodes to no tokens; give a non-empty prompt", 0);
        }
        int limit = Math.min(contextLength, kvCapacityTokens);
        if (ids.length >= limit) {
            return RowOutcome.error("prompt has " + ids.length + " tokens (after the chat template) but the engine"
                    + " holds at most " + (limit - 1) + " (" + (contextLength <= kvCapacityTokens ? "context length "
                    + contextLength + "; shorten the prompt" : "KV cache of " + kvCapacityTokens
                    + " tokens; raise kv_cache_mb or shorten the prompt") + ")", ids.length);
        }
        SamplingParams params;
        try {
            params = sampling(spec.defaults(), sampling == null ? null : sampling.getObject(row), sampling, ids);
        } catch (IllegalArgumentException e) {
            return RowOutcome.error("invalid sampling values: " + e.getMessage(), ids.length);
        }
        if (params.logprobs() > 0 && !spec.returnLogprobs()) {
            return RowOutcome.error("the row asks for logprobs=" + params.logprobs() + " but the call has no logprobs"
                    + " column; set return_logprobs=true (or logprobs > 0) on the call", ids.length);
        }
        return RowOutcome.request(GenerationRequest.ofIds(ids, params), ids.length);
    }

    static List<ChatTemplate.Message> withSystem(LlmSpec spec, List<ChatTemplate.Message> msgs) {
        if (spec.systemPrompt() == null || (!msgs.isEmpty() && "system".equals(msgs.get(0).role()))) {
            return msgs;
        }
        List<ChatTemplate.Message> all = new ArrayList<>(msgs.size() + 1);
        all.add(new ChatTemplate.Message("system", spec.systemPrompt()));
        all.addAll(msgs);
        return all;
    }

    /** A row whose input is malformed; the message names the problem and the fix. */
    static final class MalformedRow extends Exception {
        private static final long serialVersionUID = 1L;

        MalformedRow(String message) {
            super(message, null, false, false);
        }
    }

    static List<ChatTemplate.Message> messages(Object v) throws MalformedRow {
        if (v == null) {
            throw new MalformedRow("messages are null; give every row a non-empty array<struct<role, content>>");
        }
        List<?> list = (List<?>) v;
        if (list.isEmpty()) {
            throw new MalformedRow("messages are empty; give every row at least one message");
        }
        List<ChatTemplate.Message> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            Object m = list.get(i);
            if (!(m instanceof Map)) {
                throw new MalformedRow("message " + i + " is null; every message needs a role and a content");
            }
            Map<?, ?> mm = (Map<?, ?>) m;
            Object role = mm.get("role");
            Object content = mm.get("content");
            if (role == null || role.toString().isBlank()) {
                throw new MalformedRow("message " + i + " has no role; use system, user or assistant");
            }
            if (content == null) {
                throw new MalformedRow("message " + i + " (role " + role + ") has no content");
            }
            out.add(new ChatTemplate.Message(role.toString(), content.toString()));
        }
        return out;
    }

    /**
     * @return the call's defaults overridden by the row's sampling value (struct or map; null fields keep the
     * default), with a seed derived from the call's global seed and the prompt when the row sets none
     */
    static SamplingParams sampling(SamplingParams defaults, Object value, FieldVector vector, int[] promptIds) {
        SamplingParams.Builder b = defaults.toBuilder();
        Long rowSeed = null;
        if (value != null) {
            for (Map.Entry<String, Object> e : entries(value, vector).entrySet()) {
                Object v = plain(e.getValue());
                if (v == null) {
                    continue;
                }
                String k = e.getKey();
                switch (k) {
                    case "temperature" -> b.temperature(number(k, v).doubleValue());
                    case "top_p" -> b.topP(number(k, v).doubleValue());
                    case "top_k" -> b.topK(whole(k, v));
                    case "min_p" -> b.minP(number(k, v).doubleValue());
                    case "max_tokens" -> b.maxTokens(whole(k, v));
                    case "presence_penalty" -> b.presencePenalty(number(k, v).doubleValue());
                    case "frequency_penalty" -> b.frequencyPenalty(number(k, v).doubleValue());
                    case "repetition_penalty" -> b.repetitionPenalty(number(k, v).doubleValue());
                    case "logprobs" -> b.logprobs(whole(k, v));
                    case "ignore_eos" -> b.ignoreEos(bool(k, v));
                    case "seed" -> rowSeed = number(k, v).longValue();
                    case "stop" -> b.stop(strings(k, v));
                    case "stop_token_ids" -> {
                        Set<Integer> ids = new HashSet<>();
                        for (Object o : list(k, v)) {
                            ids.add(whole(k, plain(o)));
                        }
                        b.stopTokenIds(ids);
                    }
                    default -> throw new IllegalArgumentException("unknown sampling field '" + k + "'; the fields are "
                            + new java.util.TreeSet<>(SAMPLING_KEYS));
                }
            }
        }
        if (rowSeed != null) {
            b.seed(rowSeed);
        } else if (defaults.seed() != null) {
            b.seed(rowSeed(defaults.seed(), promptIds));
        }
        return b.build();
    }

    /** A row's seed from the call's seed and its prompt: equal rows get equal seeds wherever they run. */
    static long rowSeed(long globalSeed, int[] promptIds) {
        long h = 0xcbf29ce484222325L ^ globalSeed;
        for (int id : promptIds) {
            h ^= id;
            h *= 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        return h;
    }

    static Map<String, Object> entries(Object value, FieldVector vector) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (vector instanceof MapVector) {
            for (Object e : (List<?>) value) {
                Map<?, ?> kv = (Map<?, ?>) e;
                Object k = plain(kv.get(MapVector.KEY_NAME));
                out.put(k == null ? "null" : k.toString(), kv.get(MapVector.VALUE_NAME));
            }
        } else {
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                out.put(e.getKey().toString(), e.getValue());
            }
        }
        return out;
    }

    static Object plain(Object v) {
        return v instanceof Text ? v.toString() : v;
    }

    private static Number number(String k, Object v) {
        if (v instanceof Number) {
            return (Number) v;
        }
        try {
            return Double.parseDouble(v.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(k + "='" + v + "' is not a number");
        }
    }

    private static int whole(String k, Object v) {
        double d = number(k, v).doubleValue();
        if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(k + "=" + v + " must be a whole number");
        }
        return (int) d;
    }

    private static boolean bool(String k, Object v) {
        if (v instanceof Boolean) {
            return (Boolean) v;
        }
        String s = v.toString().trim();
        if (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false")) {
            return Boolean.parseBoolean(s);
        }
        throw new IllegalArgumentException(k + "='" + v + "' must be true or false");
    }

    private static Collection<?> list(String k, Object v) {
        if (v instanceof Collection) {
            return (Collection<?>) v;
        }
        throw new IllegalArgumentException(k + " must be an array");
    }

    private static List<String> strings(String k, Object v) {
        if (!(v instanceof Collection)) {
            return List.of(v.toString());
        }
        List<String> out = new ArrayList<>();
        for (Object o : (Collection<?>) v) {
            if (o == null) {
                throw new IllegalArgumentException(k + " contains a null");
            }
            out.add(plain(o).toString());
        }
        return out;
    }
}
