package io.stoker.spark.llm;

import java.util.Locale;

/**
 * Every option of an LLM call (llmMap, {@code Stoker.llm}, the SQL function {@code llm_generate}): its key (the
 * name SQL uses, e.g. {@code llm_generate(q, 'max_tokens', 64)}), default and meaning. {@link LlmSpec#parse} validates
 * them on the driver. docs/llm-on-spark.md lists them all; a test checks that.
 */
public enum LlmOption {
    // What to run
    MODEL("model", "", "Model source: 'demo' (the bundled demo model), a local path, or a file:/hdfs:/s3a: URI of a"
            + " Hugging Face directory or a .gguf file (fetched once per executor)."),
    SYSTEM_PROMPT("system_prompt", "", "System message put before each prompt (chat template required)."),
    CHAT_TEMPLATE("chat_template", "auto", "auto: apply the model's chat template when it has one; true: require it;"
            + " false: send the prompt as raw text."),
    CHAT_TEMPLATE_OVERRIDE("chat_template_override", "", "A Jinja chat template used instead of the model's."),
    // Default sampling (a per-row sampling column overrides these)
    MAX_TOKENS("max_tokens", "128", "Most tokens to generate per row."),
    TEMPERATURE("temperature", "0", "0 = greedy; higher = more random."),
    TOP_P("top_p", "1", "Nucleus sampling mass, in (0, 1]."),
    TOP_K("top_k", "0", "Keep the k most likely tokens; 0 = all."),
    MIN_P("min_p", "0", "Drop tokens less likely than min_p times the most likely one, in [0, 1]."),
    PRESENCE_PENALTY("presence_penalty", "0", "In [-2, 2]."),
    FREQUENCY_PENALTY("frequency_penalty", "0", "In [-2, 2]."),
    REPETITION_PENALTY("repetition_penalty", "1", "> 0; 1 = off."),
    STOP("stop", "", "Stop strings, as a JSON array (e.g. [\"\\n\\n\"]) or one plain string."),
    IGNORE_EOS("ignore_eos", "false", "Keep generating after the end-of-sequence token."),
    SEED("seed", "", "Global seed: each row's seed is derived from it and the row's prompt, so a row's output does"
            + " not depend on partitioning, batching, retries or speculation. Empty: random unless the row sets one."),
    LOGPROBS("logprobs", "0", "Top log-probabilities per generated token, in [0, 20]; > 0 adds the logprobs column."),
    // Output
    RETURN_TOKEN_IDS("return_token_ids", "false", "Add the token_ids column (generated token ids)."),
    RETURN_LOGPROBS("return_logprobs", "false", "Add the logprobs column even when logprobs = 0 (rows may ask for"
            + " logprobs in their sampling column)."),
    OUTPUT_PREFIX("output_prefix", "", "Prefix added to every output column name (e.g. 'llm_')."),
    OUTPUT_NAMES("output_names", "", "Renames output columns: 'generated_text=answer,error=llm_error'."),
    FAIL_ON_ERROR("fail_on_error", "false", "Fail the job at the first bad row (naming it) instead of returning the"
            + " row with its error column set."),
    // Engine
    ENGINES("engines", "auto", "Engines per executor: auto = one per GPU group (tensor_parallel or pipeline_parallel"
            + " GPUs), or one CPU engine when the executor has no GPUs; or a number."),
    DEVICE("device", "auto", "Where local engines run: auto = CUDA when the executor has Spark GPU addresses and a"
            + " CUDA driver (or the simulator), else the CPU; cpu; or cuda (one engine per GPU Spark assigned; an"
            + " executor without GPU resources uses devices 0..engines-1)."),
    TENSOR_PARALLEL("tensor_parallel", "1", "GPUs (or CPU shards) per engine, each holding a slice of every layer."),
    PIPELINE_PARALLEL("pipeline_parallel", "1", "Pipeline stages per engine, one GPU (or CPU actor) each, each holding"
            + " a contiguous range of layers; at most the model's layer count. Not combined with tensor_parallel > 1."),
    THREADS("threads", "auto", "CPU kernel threads per engine; auto = the executor's cores divided by its engines."),
    KV_CACHE_MB("kv_cache_mb", "256", "KV-cache budget per engine, in MiB."),
    MAX_BATCH_TOKENS("max_batch_tokens", "512", "Token budget of one engine step (decode tokens plus prefill chunks)."),
    MAX_NUM_SEQS("max_num_seqs", "64", "Most sequences in one engine step."),
    MAX_MODEL_LEN("max_model_len", "0", "Context length limit; 0 = the model's."),
    KV_CACHE_DTYPE("kv_cache_dtype", "float32", "KV-cache elements: float32, or float16 (half the memory; values"
            + " rounded to binary16)."),
    PREFIX_CACHING("prefix_caching", "true", "Reuse the KV blocks of identical prompt prefixes across rows (outputs"
            + " are unchanged)."),
    DTYPE("dtype", "auto", "Weight type the engine must run: auto (as stored) or float32, float16, bfloat16, q8_0;"
            + " the CPU engine refuses a model stored in another type."),
    // OpenAI-compatible server instead of a local engine
    BASE_URL("base_url", "", "An OpenAI-compatible server (e.g. http://host:8000/v1): rows go to it over HTTP instead of"
            + " to a local engine, and 'model' is the server's model id."),
    SERVER("server", "", "A managed server (spark.stoker.server.<name>.*): rows go to the executor's own server"
            + " processes over loopback; 'model' defaults to the server's model."),
    ENDPOINT("endpoint", "chat", "chat (/v1/chat/completions) or completions (/v1/completions, plain prompts)."),
    API_KEY_ENV("api_key_env", "", "Environment variable (on the executors) holding the server's API key."),
    API_KEY_CONF("api_key_conf", "", "Spark configuration key holding the server's API key; its name must match"
            + " spark.redaction.regex (e.g. spark.stoker.secret.openai) so Spark redacts its value."),
    MAX_CONCURRENT_REQUESTS("max_concurrent_requests", "64", "HTTP requests in flight per executor (one shared"
            + " client per executor and server)."),
    REQUESTS_PER_SECOND("requests_per_second", "0", "Client-side request rate limit per executor; 0 = none."),
    TOKENS_PER_MINUTE("tokens_per_minute", "0", "Client-side token rate limit per executor; 0 = none."),
    MAX_RETRIES("max_retries", "6", "Retries on 408, 429, 5xx and connection errors (jittered exponential backoff,"
            + " Retry-After honoured); when they run out the row gets an error (or the job fails with fail_on_error)."),
    INITIAL_BACKOFF_MS("initial_backoff_ms", "500", "First retry delay; doubled per retry (jittered), capped at 30 s."),
    REQUEST_TIMEOUT_MS("request_timeout_ms", "600000", "Timeout of one HTTP attempt."),
    EXTRA_BODY("extra_body", "", "A JSON object merged into every request body (server-specific fields)."),
    RETURN_HTTP_STATUS("return_http_status", "false", "Add the http_status column (HTTP backend)."),
    RETURN_RAW_RESPONSE("return_raw_response", "false", "Add the raw_response column: the server's response body."),
    // Task feeding
    BATCH_ROWS("batch_rows", "16", "Rows per Arrow batch sent through the executor's processor graph."),
    ORDER_BY_PREFIX("order_by_prefix", "true", "Send each task's rows to the engine ordered by prompt (within windows"
            + " of max_in_flight_per_task / 2 rows), so rows sharing a prefix meet in the prefix cache; outputs keep"
            + " the input order."),
    MAX_IN_FLIGHT_PER_TASK("max_in_flight_per_task", "256", "Rows one task keeps in the engine at once; results are"
            + " still emitted in input order."),
    TIMEOUT_MS("timeout_ms", "3600000", "How long a task waits for one batch before failing.");

    private final String key;
    private final String defaultValue;
    private final String doc;

    LlmOption(String key, String defaultValue, String doc) {
        this.key = key;
        this.defaultValue = defaultValue;
        this.doc = doc;
    }

    public String key() {
        return key;
    }

    public String defaultValue() {
        return defaultValue;
    }

    public String doc() {
        return doc;
    }

    /** @return the option with this key (case-insensitive, '-' and '.' read as '_'), or null */
    public static LlmOption byKey(String key) {
        String k = normalize(key);
        for (LlmOption o : values()) {
            if (o.key.equals(k)) {
                return o;
            }
        }
        return null;
    }

    /** @return {@code key} as option keys are written: trimmed, lower case, '-' and '.' read as '_' */
    static String normalize(String key) {
        return key.trim().toLowerCase(Locale.ROOT).replace('-', '_').replace('.', '_');
    }
}
