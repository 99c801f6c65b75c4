package io.stoker.spark.llm;

import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What an LLM call runs and how: the model and the options of {@link LlmOption}, collected fluently and validated
 * on the driver ({@link #spec()}). Immutable: every method returns a copy.
 *
 * <pre>{@code
 * Llm llm = Llm.model("hdfs:///models/qwen2.5-0.5b-instruct").systemPrompt("Answer briefly.").maxTokens(128);
 * Dataset<Row> out = questions.transform(Stoker.llm(llm).prompt(col("question")));
 * }</pre>
 */
public final class Llm implements Serializable {
    private static final long serialVersionUID = 1L;

    private final Map<String, String> options;

    private Llm(Map<String, String> options) {
        this.options = Collections.unmodifiableMap(options);
    }

    /**
     * @param source 'demo' (the bundled demo model), a local path, or a file:/hdfs:/s3a: URI of a Hugging Face
     *               directory or a .gguf file
     */
    public static Llm model(String source) {
        return new Llm(Map.of()).option(LlmOption.MODEL.key(), source);
    }

    /**
     * Rows go to an OpenAI-compatible server instead of a local engine.
     *
     * @param baseUrl e.g. {@code http://host:8000/v1} (OpenAI: {@code https://api.openai.com/v1})
     * @param model   the server's model id
     */
    public static Llm openai(String baseUrl, String model) {
        return model(model).option(LlmOption.BASE_URL.key(), baseUrl);
    }

    /**
     * Rows go to a managed server ({@code spark.stoker.server.<name>.*}) that each executor runs itself, over
     * loopback; the model id is the server's {@code model} unless {@link #option} sets {@code model}.
     */
    public static Llm server(String name) {
        return new Llm(Map.of()).option(LlmOption.SERVER.key(), name);
    }

    /** The API key is read on the executors from this environment variable. */
    public Llm apiKeyEnv(String variable) {
        return option(LlmOption.API_KEY_ENV.key(), variable);
    }

    /** The API key is read on the executors from this Spark configuration key (one Spark redacts). */
    public Llm apiKeyConf(String sparkConfKey) {
        return option(LlmOption.API_KEY_CONF.key(), sparkConfKey);
    }

    /** chat (default) or completions. */
    public Llm endpoint(String endpoint) {
        return option(LlmOption.ENDPOINT.key(), endpoint);
    }

    public Llm maxConcurrentRequests(int n) {
        return option(LlmOption.MAX_CONCURRENT_REQUESTS.key(), n);
    }

    public Llm requestsPerSecond(double r) {
        return option(LlmOption.REQUESTS_PER_SECOND.key(), r);
    }

    public Llm tokensPerMinute(long t) {
        return option(LlmOption.TOKENS_PER_MINUTE.key(), t);
    }

    public Llm maxRetries(int n) {
        return option(LlmOption.MAX_RETRIES.key(), n);
    }

    public Llm initialBackoffMs(long ms) {
        return option(LlmOption.INITIAL_BACKOFF_MS.key(), ms);
    }

    public Llm requestTimeoutMs(long ms) {
        return option(LlmOption.REQUEST_TIMEOUT_MS.key(), ms);
    }

    /** A JSON object merged into every request body. */
    public Llm extraBody(String json) {
        return option(LlmOption.EXTRA_BODY.key(), json);
    }

    public Llm returnHttpStatus(boolean on) {
        return option(LlmOption.RETURN_HTTP_STATUS.key(), on);
    }

    public Llm returnRawResponse(boolean on) {
        return option(LlmOption.RETURN_RAW_RESPONSE.key(), on);
    }

    /** @return a copy with any option of {@link LlmOption} set (by its key, e.g. {@code "top_k"}) */
    public Llm option(String key, Object value) {
        LlmOption o = LlmOption.byKey(key);
        String k = o == null ? key : o.key();
        Map<String, String> m = new LinkedHashMap<>(options);
        m.put(k, value == null ? null : value instanceof List<?> l ? json(l) : value.toString());
        return new Llm(m);
    }

    private static String json(List<?> l) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(l);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }

    public Llm systemPrompt(String text) {
        return option(LlmOption.SYSTEM_PROMPT.key(), text);
    }

    /** @param on true: require and apply the model's chat template; false: send prompts as raw text */
    public Llm chatTemplate(boolean on) {
        return option(LlmOption.CHAT_TEMPLATE.key(), on);
    }

    public Llm chatTemplateOverride(String jinja) {
        return option(LlmOption.CHAT_TEMPLATE_OVERRIDE.key(), jinja);
    }

    public Llm maxTokens(int n) {
        return option(LlmOption.MAX_TOKENS.key(), n);
    }

    public Llm temperature(double t) {
        return option(LlmOption.TEMPERATURE.key(), t);
    }

    public Llm topP(double p) {
        return option(LlmOption.TOP_P.key(), p);
    }

    public Llm topK(int k) {
        return option(LlmOption.TOP_K.key(), k);
    }

    public Llm minP(double p) {
        return option(LlmOption.MIN_P.key(), p);
    }

    public Llm presencePenalty(double p) {
        return option(LlmOption.PRESENCE_PENALTY.key(), p);
    }

    public Llm frequencyPenalty(double p) {
        return option(LlmOption.FREQUENCY_PENALTY.key(), p);
    }

    public Llm repetitionPenalty(double p) {
        return option(LlmOption.REPETITION_PENALTY.key(), p);
    }

    public Llm stop(String... strings) {
        return option(LlmOption.STOP.key(), List.of(strings));
    }

    /** A global seed: each row's seed is derived from it and the row's prompt. */
    public Llm seed(long seed) {
        return option(LlmOption.SEED.key(), seed);
    }

    public Llm logprobs(int topN) {
        return option(LlmOption.LOGPROBS.key(), topN);
    }

    public Llm returnTokenIds(boolean on) {
        return option(LlmOption.RETURN_TOKEN_IDS.key(), on);
    }

    public Llm failOnError(boolean on) {
        return option(LlmOption.FAIL_ON_ERROR.key(), on);
    }

    /** Prefix for every output column name, e.g. "llm_". */
    public Llm outputPrefix(String prefix) {
        return option(LlmOption.OUTPUT_PREFIX.key(), prefix);
    }

    /** Renames one output column (e.g. {@code outputName("generated_text", "answer")}). */
    public Llm outputName(String column, String name) {
        String cur = options.getOrDefault(LlmOption.OUTPUT_NAMES.key(), "");
        return option(LlmOption.OUTPUT_NAMES.key(), (cur.isEmpty() ? "" : cur + ",") + column + "=" + name);
    }

    public Llm kvCacheMb(long mb) {
        return option(LlmOption.KV_CACHE_MB.key(), mb);
    }

    /** float32 (default) or float16: half the KV memory. */
    public Llm kvCacheDtype(String dtype) {
        return option(LlmOption.KV_CACHE_DTYPE.key(), dtype);
    }

    public Llm prefixCaching(boolean on) {
        return option(LlmOption.PREFIX_CACHING.key(), on);
    }

    public Llm orderByPrefix(boolean on) {
        return option(LlmOption.ORDER_BY_PREFIX.key(), on);
    }

    public Llm maxBatchTokens(int n) {
        return option(LlmOption.MAX_BATCH_TOKENS.key(), n);
    }

    public Llm maxNumSeqs(int n) {
        return option(LlmOption.MAX_NUM_SEQS.key(), n);
    }

    public Llm maxModelLen(int n) {
        return option(LlmOption.MAX_MODEL_LEN.key(), n);
    }

    public Llm dtype(String dtype) {
        return option(LlmOption.DTYPE.key(), dtype);
    }

    public Llm engines(int n) {
        return option(LlmOption.ENGINES.key(), n);
    }

    /** Where local engines run: {@code auto} (default), {@code cpu} or {@code cuda} (see {@link LlmOption#DEVICE}). */
    public Llm device(String device) {
        return option(LlmOption.DEVICE.key(), device);
    }

    public Llm tensorParallel(int n) {
        return option(LlmOption.TENSOR_PARALLEL.key(), n);
    }

    /** Pipeline stages per engine (see {@link LlmOption#PIPELINE_PARALLEL}). */
    public Llm pipelineParallel(int n) {
        return option(LlmOption.PIPELINE_PARALLEL.key(), n);
    }

    public Llm threads(int n) {
        return option(LlmOption.THREADS.key(), n);
    }

    public Llm batchRows(int n) {
        return option(LlmOption.BATCH_ROWS.key(), n);
    }

    public Llm maxInFlightPerTask(int rows) {
        return option(LlmOption.MAX_IN_FLIGHT_PER_TASK.key(), rows);
    }

    public Llm timeoutMs(long ms) {
        return option(LlmOption.TIMEOUT_MS.key(), ms);
    }

    /** @return the options as set, by key */
    public Map<String, String> options() {
        return options;
    }

    /**
     * @return the validated options
     * @throws LlmConfigException naming every bad option, its value and what is allowed
     */
    public LlmSpec spec() {
        return LlmSpec.parse(options);
    }

    @Override
    public String toString() {
        return "Llm" + options;
    }
}
