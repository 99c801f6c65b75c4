package io.stoker.spark.llm;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.spark.config.StokerOption;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The validated options of one LLM call, parsed on the driver from {@link LlmOption} keys (SQL arguments, or what
 * {@link Llm} collects). Immutable and serializable: it travels with the plan to the executors, where
 * {@link #engineKey()} picks the engine.
 *
 * @param options every option as given (normalized keys), for {@link #toOptions()} and the engine key
 */
public record LlmSpec(Map<String, String> options, String model, String systemPrompt, String chatTemplate,
                      String chatTemplateOverride, SamplingParams defaults, boolean returnTokenIds,
                      boolean returnLogprobs, Map<String, String> outputNames, boolean failOnError, int engines,
                      int tensorParallel, int pipelineParallel, int threads, long kvCacheBytes, int maxBatchTokens,
                      int maxNumSeqs, int maxModelLen, String dtype, int batchRows, int maxInFlightPerTask,
                      long timeoutMillis,
                      Http http, boolean returnHttpStatus, boolean returnRawResponse, boolean kvCacheF16,
                      boolean prefixCaching, boolean orderByPrefix, String device)
        implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Standard output columns, in order; {@link #outputName} gives each one's configured name. */
    public static final List<String> OUTPUT_COLUMNS = List.of("generated_text", "num_input_tokens",
            "num_generated_tokens", "finish_reason", "time_to_first_token_ms", "time_taken_ms", "error",
            "token_ids", "logprobs", "http_status", "raw_response");

    /** Sampling options a call may set; the HTTP backend sends only those set explicitly. */
    static final List<LlmOption> SAMPLING_OPTIONS = List.of(LlmOption.MAX_TOKENS, LlmOption.TEMPERATURE,
            LlmOption.TOP_P, LlmOption.TOP_K, LlmOption.MIN_P, LlmOption.PRESENCE_PENALTY, LlmOption.FREQUENCY_PENALTY,
            LlmOption.REPETITION_PENALTY, LlmOption.STOP, LlmOption.IGNORE_EOS, LlmOption.SEED, LlmOption.LOGPROBS);

    /**
     * How to reach an OpenAI-compatible server (the HTTP backend). The API key itself is never part of the spec: it
     * is read on the executors from the named environment variable or Spark configuration key.
     *
     * @param baseUrl    e.g. {@code http://host:8000/v1}; null with a managed server
     * @param server     the managed server's name (spark.stoker.server.&lt;name&gt;.*), or null
     * @param chat       true: /v1/chat/completions; false: /v1/completions
     * @param apiKeyEnv  environment variable holding the key, or null
     * @param apiKeyConf Spark configuration key holding the key, or null
     * @param extraBody  JSON object merged into every request body, or null
     */
    public record Http(String baseUrl, String server, boolean chat, String apiKeyEnv, String apiKeyConf, int maxConcurrentRequests,
                       double requestsPerSecond, long tokensPerMinute, int maxRetries, long initialBackoffMillis,
                       long requestTimeoutMillis, String extraBody) implements Serializable {
    }

    public LlmSpec {
        options = Collections.unmodifiableMap(new TreeMap<>(options));
        outputNames = Collections.unmodifiableMap(new LinkedHashMap<>(outputNames));
    }

    /**
     * @param raw option key → value (keys: {@link LlmOption}; values as strings)
     * @throws LlmConfigException listing every unknown key and bad value, naming option, value and what is allowed
     */
    public static LlmSpec parse(Map<String, String> raw) {
        Map<String, String> opts = new TreeMap<>();
        List<String> problems = new ArrayList<>();
        List<String> known = new ArrayList<>();
        for (LlmOption o : LlmOption.values()) {
            known.add(o.key());
        }
        for (Map.Entry<String, String> e : raw.entrySet()) {
            LlmOption o = LlmOption.byKey(e.getKey());
            if (o == null && LlmOption.normalize(e.getKey()).equals("api_key")) {
                problems.add("LLM option 'api_key' is not accepted: a key written in a query shows in query plans,"
                        + " the Spark UI and the event log; put it in an environment variable of the executors"
                        + " (api_key_env) or a Spark configuration key that Spark redacts (api_key_conf)");
                continue;
            }
            if (o == null) {
                String hint = StokerOption.closest(e.getKey(), known);
                problems.add("unknown LLM option '" + e.getKey() + "'" + (hint != null ? "; did you mean '" + hint
                        + "'?" : "; the options are " + known));
                continue;
            }
            if (e.getValue() == null) {
                problems.add("LLM option '" + o.key() + "' is null; give a value or leave it out");
                continue;
            }
            opts.put(o.key(), e.getValue());
        }
        Reader r = new Reader(opts, problems);
        String model = r.string(LlmOption.MODEL);
        if (model.isBlank() && r.string(LlmOption.SERVER).isBlank()) {
            problems.add("LLM option 'model' is required: 'demo', a local path, or a file:/hdfs:/s3a: URI");
        }
        String template = r.oneOf(LlmOption.CHAT_TEMPLATE, "auto", "true", "false");
        String system = r.string(LlmOption.SYSTEM_PROMPT);
        if (!system.isEmpty() && template.equals("false")) {
            problems.add("LLM option 'system_prompt' needs the chat template, but chat_template=false; remove one");
        }
        SamplingParams defaults = null;
        try {
            SamplingParams.Builder b = SamplingParams.builder()
                    .maxTokens((int) r.longIn(LlmOption.MAX_TOKENS, 1, 1 << 20))
                    .temperature(r.dbl(LlmOption.TEMPERATURE))
                    .topP(r.dbl(LlmOption.TOP_P))
                    .topK((int) r.longIn(LlmOption.TOP_K, 0, Integer.MAX_VALUE))
                    .minP(r.dbl(LlmOption.MIN_P))
                    .presencePenalty(r.dbl(LlmOption.PRESENCE_PENALTY))
                    .frequencyPenalty(r.dbl(LlmOption.FREQUENCY_PENALTY))
                    .repetitionPenalty(r.dbl(LlmOption.REPETITION_PENALTY))
                    .stop(r.stringList(LlmOption.STOP))
                    .ignoreEos(r.bool(LlmOption.IGNORE_EOS))
                    .logprobs((int) r.longIn(LlmOption.LOGPROBS, 0, SamplingParams.MAX_LOGPROBS));
            String seed = r.string(LlmOption.SEED);
            if (!seed.isEmpty()) {
                b.seed(r.longValue(LlmOption.SEED, seed));
            }
            defaults = b.build();
        } catch (IllegalArgumentException e) {
            problems.add("LLM sampling options: " + e.getMessage());
        }
        Map<String, String> names = r.outputNames();
        int engines = r.autoOrInt(LlmOption.ENGINES, 1, 1024);
        int tp = (int) r.longIn(LlmOption.TENSOR_PARALLEL, 1, 64);
        int pp = (int) r.longIn(LlmOption.PIPELINE_PARALLEL, 1, 64);
        if (tp > 1 && pp > 1) {
            problems.add("LLM options 'tensor_parallel' = " + tp + " and 'pipeline_parallel' = " + pp + " cannot be"
                    + " combined: an engine splits the model either into tensor-parallel ranks or into pipeline stages,"
                    + " not both; set one of them to 1");
        }
        String device = r.oneOf(LlmOption.DEVICE, "auto", "cpu", "cuda");
        int threads = r.autoOrInt(LlmOption.THREADS, 1, 4096);
        long kvMb = r.longIn(LlmOption.KV_CACHE_MB, 1, 1L << 30);
        int maxBatchTokens = (int) r.longIn(LlmOption.MAX_BATCH_TOKENS, 1, 1 << 24);
        int maxNumSeqs = (int) r.longIn(LlmOption.MAX_NUM_SEQS, 1, 1 << 16);
        int maxModelLen = (int) r.longIn(LlmOption.MAX_MODEL_LEN, 0, 1 << 24);
        String dtype = r.oneOf(LlmOption.DTYPE, "auto", "float32", "float16", "bfloat16", "q8_0");
        int batchRows = (int) r.longIn(LlmOption.BATCH_ROWS, 1, 1 << 16);
        int inFlight = (int) r.longIn(LlmOption.MAX_IN_FLIGHT_PER_TASK, 1, 1 << 20);
        long timeout = r.longIn(LlmOption.TIMEOUT_MS, 1, Long.MAX_VALUE);
        boolean returnTokenIds = r.bool(LlmOption.RETURN_TOKEN_IDS);
        boolean returnLogprobs = r.bool(LlmOption.RETURN_LOGPROBS);
        boolean failOnError = r.bool(LlmOption.FAIL_ON_ERROR);
        Http http = r.http();
        boolean returnHttpStatus = r.bool(LlmOption.RETURN_HTTP_STATUS);
        boolean returnRawResponse = r.bool(LlmOption.RETURN_RAW_RESPONSE);
        boolean kvF16 = r.oneOf(LlmOption.KV_CACHE_DTYPE, "float32", "float16").equals("float16");
        boolean prefixCaching = r.bool(LlmOption.PREFIX_CACHING);
        boolean orderByPrefix = r.bool(LlmOption.ORDER_BY_PREFIX);
        if (http == null) {
            for (LlmOption o : new LlmOption[]{LlmOption.ENDPOINT, LlmOption.API_KEY_ENV, LlmOption.API_KEY_CONF,
                    LlmOption.MAX_CONCURRENT_REQUESTS, LlmOption.REQUESTS_PER_SECOND, LlmOption.TOKENS_PER_MINUTE,
                    LlmOption.MAX_RETRIES, LlmOption.INITIAL_BACKOFF_MS, LlmOption.REQUEST_TIMEOUT_MS, LlmOption.EXTRA_BODY,
                    LlmOption.RETURN_HTTP_STATUS, LlmOption.RETURN_RAW_RESPONSE}) {
                if (opts.containsKey(o.key())) {
                    problems.add("LLM option '" + o.key() + "' applies to an OpenAI-compatible server only; set"
                            + " base_url too, or remove it");
                }
            }
        } else {
            if (opts.containsKey(LlmOption.DEVICE.key())) {
                problems.add("LLM option 'device' applies to the local engine only; remove it or base_url/server");
            }
            if (tp > 1 || pp > 1) {
                problems.add("LLM option '" + (tp > 1 ? LlmOption.TENSOR_PARALLEL : LlmOption.PIPELINE_PARALLEL).key()
                        + "' applies to the local engine only (a server shards its model itself); remove it or"
                        + " base_url/server");
            }
            if (returnTokenIds) {
                problems.add("LLM option 'return_token_ids' needs the local engine: OpenAI-compatible servers do not"
                        + " return token ids; remove it or base_url");
            }
            if (!http.chat() && (opts.containsKey(LlmOption.SYSTEM_PROMPT.key())
                    || opts.containsKey(LlmOption.CHAT_TEMPLATE_OVERRIDE.key()))) {
                problems.add("LLM options 'system_prompt' and 'chat_template_override' need endpoint=chat");
            }
        }
        if (!problems.isEmpty()) {
            throw new LlmConfigException("invalid LLM options:\n  - " + String.join("\n  - ", problems)
                    + "\nsee docs/llm-on-spark.md for every option");
        }
        return new LlmSpec(opts, model.trim(), system.isEmpty() ? null : system, template,
                r.string(LlmOption.CHAT_TEMPLATE_OVERRIDE).isEmpty() ? null : r.string(LlmOption.CHAT_TEMPLATE_OVERRIDE),
                defaults, returnTokenIds, returnLogprobs || defaults.logprobs() > 0, names, failOnError, engines, tp,
                pp, threads, kvMb << 20, maxBatchTokens, maxNumSeqs, maxModelLen, dtype, batchRows, inFlight, timeout,
                http, returnHttpStatus, returnRawResponse, kvF16, prefixCaching, orderByPrefix, device);
    }

    /** @return true when rows go to an OpenAI-compatible server rather than a local engine */
    public boolean isHttp() {
        return http != null;
    }

    /** @return the GPUs (or CPU worker actors) one engine spans: tensor_parallel times pipeline_parallel */
    public int gpusPerEngine() {
        return tensorParallel * pipelineParallel;
    }

    /**
     * @return the option that sets {@link #gpusPerEngine} (for error messages): pipeline_parallel when it is above 1,
     * else tensor_parallel ({@link #parse} refuses both above 1)
     */
    public LlmOption gpusPerEngineOption() {
        return pipelineParallel > 1 ? LlmOption.PIPELINE_PARALLEL : LlmOption.TENSOR_PARALLEL;
    }

    /** @return true when the call set this option itself (rather than relying on its default) */
    public boolean isSet(LlmOption o) {
        return options.containsKey(o.key());
    }

    /** @return the options as given (normalized keys); {@link #parse} reads them back to an equal spec */
    public Map<String, String> toOptions() {
        return options;
    }

    /** @return the configured name of a standard output column ({@link #OUTPUT_COLUMNS}) */
    public String outputName(String standard) {
        return outputNames.get(standard);
    }

    /**
     * @return what identifies the engine this call needs on an executor: model and engine options. Two calls with
     * the same key share engines; calls with different models or engine options get their own.
     */
    public String engineKey() {
        if (http != null) {
            return "http|" + http.baseUrl() + "|" + http.server() + "|" + http.apiKeyEnv() + "|" + http.apiKeyConf() + "|"
                    + http.maxConcurrentRequests() + "|" + http.requestsPerSecond() + "|" + http.tokensPerMinute() + "|"
                    + http.maxRetries() + "|" + http.initialBackoffMillis() + "|" + http.requestTimeoutMillis();
        }
        StringBuilder b = new StringBuilder(model);
        for (LlmOption o : new LlmOption[]{LlmOption.DEVICE, LlmOption.ENGINES, LlmOption.TENSOR_PARALLEL,
                LlmOption.PIPELINE_PARALLEL, LlmOption.THREADS,
                LlmOption.KV_CACHE_MB, LlmOption.MAX_BATCH_TOKENS, LlmOption.MAX_NUM_SEQS, LlmOption.MAX_MODEL_LEN,
                LlmOption.DTYPE, LlmOption.KV_CACHE_DTYPE, LlmOption.PREFIX_CACHING}) {
            b.append('|').append(o.key()).append('=').append(options.getOrDefault(o.key(), o.defaultValue()));
        }
        return b.toString();
    }

    @Override
    public String toString() {
        return "LlmSpec" + options;
    }

    /** Reads option values, collecting every problem. */
    private static final class Reader {
        private final Map<String, String> opts;
        private final List<String> problems;

        Reader(Map<String, String> opts, List<String> problems) {
            this.opts = opts;
            this.problems = problems;
        }

        String string(LlmOption o) {
            return opts.getOrDefault(o.key(), o.defaultValue());
        }

        private String bad(LlmOption o, String v, String allowed) {
            problems.add("LLM option '" + o.key() + "' = '" + v + "' " + allowed);
            return null;
        }

        String oneOf(LlmOption o, String... allowed) {
            String v = string(o).trim().toLowerCase(Locale.ROOT);
            for (String a : allowed) {
                if (a.equals(v)) {
                    return v;
                }
            }
            bad(o, v, "must be one of " + String.join(", ", allowed));
            return allowed[0];
        }

        boolean bool(LlmOption o) {
            String v = string(o).trim();
            if (v.equalsIgnoreCase("true")) {
                return true;
            }
            if (!v.equalsIgnoreCase("false")) {
                bad(o, v, "must be true or false");
            }
            return false;
        }

        long longValue(LlmOption o, String v) {
            try {
                return Long.parseLong(v.trim());
            } catch (NumberFormatException e) {
                bad(o, v, "is not a whole number");
                return 0;
            }
        }

        long longIn(LlmOption o, long min, long max) {
            String v = string(o);
            long fallback = Long.parseLong(o.defaultValue());
            long x;
            try {
                x = Long.parseLong(v.trim());
            } catch (NumberFormatException e) {
                bad(o, v, "is not a whole number");
                return fallback;
            }
            if (x < min || x > max) {
                bad(o, v, "must be between " + min + " and " + max);
                return fallback;
            }
            return x;
        }

        int autoOrInt(LlmOption o, int min, int max) {
            String v = string(o).trim();
            if (v.equalsIgnoreCase("auto")) {
                return 0;
            }
            try {
                int x = Integer.parseInt(v);
                if (x >= min && x <= max) {
                    return x;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            bad(o, v, "must be auto or a whole number between " + min + " and " + max);
            return 0;
        }

        double dbl(LlmOption o) {
            String v = string(o);
            try {
                double d = Double.parseDouble(v.trim());
                if (Double.isFinite(d)) {
                    return d;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            bad(o, v, "is not a number");
            return Double.parseDouble(o.defaultValue());
        }

        List<String> stringList(LlmOption o) {
            String v = string(o);
            if (v.isEmpty()) {
                return List.of();
            }
            if (v.trim().startsWith("[")) {
                try {
                    return JSON.readValue(v, new TypeReference<List<String>>() { });
                } catch (Exception e) {
                    bad(o, v, "is not a JSON array of strings: " + e.getMessage().split("\n")[0]);
                    return List.of();
                }
            }
            return List.of(v);
        }

        /** @return the HTTP settings, or null when base_url is not set */
        Http http() {
            String url = string(LlmOption.BASE_URL).trim();
            String server = string(LlmOption.SERVER).trim();
            if (url.isEmpty() && server.isEmpty()) {
                return null;
            }
            if (!url.isEmpty() && !server.isEmpty()) {
                problems.add("LLM options 'base_url' and 'server' are exclusive: a managed server is reached on"
                        + " loopback; keep one");
            }
            if (!url.isEmpty()) {
                checkUrl(url);
            }
            String endpoint = oneOf(LlmOption.ENDPOINT, "chat", "completions");
            String env = string(LlmOption.API_KEY_ENV).trim();
            String conf = string(LlmOption.API_KEY_CONF).trim();
            if (!env.isEmpty() && !conf.isEmpty()) {
                problems.add("LLM options 'api_key_env' and 'api_key_conf' are exclusive; keep one");
            }
            String extra = string(LlmOption.EXTRA_BODY).trim();
            if (!extra.isEmpty()) {
                try {
                    if (!JSON.readTree(extra).isObject()) {
                        throw new IllegalArgumentException("not an object");
                    }
                } catch (Exception e) {
                    bad(LlmOption.EXTRA_BODY, extra, "must be a JSON object such as {\"top_k\": 20}");
                }
            }
            return new Http(url.isEmpty() ? null : url.replaceAll("/+$", ""), server.isEmpty() ? null : server,
                    endpoint.equals("chat"), env.isEmpty() ? null : env,
                    conf.isEmpty() ? null : conf, (int) longIn(LlmOption.MAX_CONCURRENT_REQUESTS, 1, 1 << 16),
                    dbl(LlmOption.REQUESTS_PER_SECOND), longIn(LlmOption.TOKENS_PER_MINUTE, 0, Long.MAX_VALUE),
                    (int) longIn(LlmOption.MAX_RETRIES, 0, 100), longIn(LlmOption.INITIAL_BACKOFF_MS, 1, 600_000),
                    longIn(LlmOption.REQUEST_TIMEOUT_MS, 1,
                    Long.MAX_VALUE), extra.isEmpty() ? null : extra);
        }

        private void checkUrl(String url) {
            try {
                java.net.URI u = java.net.URI.create(url);
                if (u.getHost() == null || !("http".equals(u.getScheme()) || "https".equals(u.getScheme()))) {
                    throw new IllegalArgumentException();
                }
                if (u.getUserInfo() != null) {
                    problems.add("LLM option 'base_url' must not hold credentials (user:password@); use api_key_env"
                            + " or api_key_conf");
                }
            } catch (IllegalArgumentException e) {
                bad(LlmOption.BASE_URL, url, "must be an absolute http:// or https:// URL such as"
                        + " http://127.0.0.1:8000/v1");
            }
        }

        Map<String, String> outputNames() {
            String prefix = string(LlmOption.OUTPUT_PREFIX);
            Map<String, String> names = new LinkedHashMap<>();
            for (String c : OUTPUT_COLUMNS) {
                names.put(c, prefix + c);
            }
            String v = string(LlmOption.OUTPUT_NAMES).trim();
            if (!v.isEmpty()) {
                for (String pair : v.split(",")) {
                    String[] kv = pair.split("=", 2);
                    String from = kv[0].trim();
                    if (kv.length != 2 || kv[1].trim().isEmpty() || !names.containsKey(from)) {
                        bad(LlmOption.OUTPUT_NAMES, v, "must be column=newName pairs separated by commas; the columns"
                                + " are " + OUTPUT_COLUMNS + " (bad pair: '" + pair.trim() + "')");
                        continue;
                    }
                    names.put(from, kv[1].trim());
                }
            }
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (String n : names.values()) {
                if (!seen.add(n.toLowerCase(Locale.ROOT))) {
                    bad(LlmOption.OUTPUT_NAMES, v, "gives two output columns the name '" + n + "'");
                }
            }
            return names;
        }
    }
}
