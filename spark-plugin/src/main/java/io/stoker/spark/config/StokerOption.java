package io.stoker.spark.config;

import java.util.Locale;

/**
 * Every application-wide {@code spark.stoker.*} option: key, default and meaning. Actor-pool options
 * ({@code spark.stoker.pool.<name>.*}) are listed in {@link PoolOption}. docs/configuration.md mirrors both lists;
 * {@code StokerConfTest} checks that it names every key.
 */
public enum StokerOption {
    ENABLED("spark.stoker.enabled", "true",
            "Start Stoker's executor runtime. false leaves the plugin installed but inert."),
    BATCH_ROWS("spark.stoker.batch.rows", "4096",
            "Rows per Arrow record batch handed to a graph (default for every mapBatches call; a call may override)."),
    BATCH_MAX_IN_FLIGHT_PER_TASK("spark.stoker.batch.maxInFlightPerTask", "2",
            "Batches one task may have submitted and not yet consumed: 2 overlaps row conversion with graph work."),
    BATCH_TIMEOUT_MS("spark.stoker.batch.timeoutMs", "600000",
            "How long a task waits for one batch's result before failing with a timeout that names the busy actor."),
    GRAPH_MAX_IN_FLIGHT("spark.stoker.graph.maxInFlight", "16",
            "Executions in flight per compiled graph replica, across all tasks of the executor."),
    RUNTIME_IDLE("spark.stoker.runtime.idle", "backoff",
            "How idle actor threads wait: spin, yield, backoff (spin, yield, then park) or park."),
    RUNTIME_CPUS("spark.stoker.runtime.cpus", "",
            "CPU slots actors may reserve per executor (spark.stoker.pool.<name>.cpus); empty: the JVM's processors."),
    ACTOR_START_TIMEOUT_MS("spark.stoker.actor.startTimeoutMs", "600000",
            "How long one actor's constructor (a model load) may take before the actor counts as failed."),
    GPU_RESOURCE("spark.stoker.gpu.resource", "gpu",
            "The Spark resource name whose addresses (spark.executor.resource.<name>.*) Stoker pins actors to."),
    MEMORY_LIMIT_BYTES("spark.stoker.memory.limitBytes", "",
            "Limit of the executor's Arrow allocator for Stoker batches and actors; empty: no limit."),
    ARTIFACTS_CACHE_DIR("spark.stoker.artifacts.cacheDir", "",
            "Local directory for fetched artifacts; empty: 'stoker-artifacts' under the executor's SparkFiles root."),
    METRICS_REPORT_TO_DRIVER("spark.stoker.metrics.reportToDriver", "true",
            "Send each executor's metric snapshot to the driver after tasks that used Stoker (Stoker.executorReports).");

    /** Prefix of every Stoker option. */
    public static final String PREFIX = "spark.stoker.";

    /**
     * Prefix of secrets (e.g. an OpenAI-compatible server's API key for the LLM option {@code api_key_conf}): any key
     * under it is accepted, never shipped by Stoker, and its value is redacted by Spark ({@code spark.redaction.regex}
     * matches "secret").
     */
    public static final String SECRET_PREFIX = "spark.stoker.secret.";

    private final String key;
    private final String defaultValue;
    private final String doc;

    StokerOption(String key, String defaultValue, String doc) {
        this.key = key;
        this.defaultValue = defaultValue;
        this.doc = doc;
    }

    public String key() {
        return key;
    }

    /** @return the default as written in configuration files; empty when the default is computed */
    public String defaultValue() {
        return defaultValue;
    }

    public String doc() {
        return doc;
    }

    /** @return the option with this exact key, or null */
    public static StokerOption byKey(String key) {
        for (StokerOption o : values()) {
            if (o.key.equals(key)) {
                return o;
            }
        }
        return null;
    }

    /** @return the known key closest to {@code key} (edit distance), for "did you mean" hints; null if none is close */
    public static String closest(String key, Iterable<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        String k = key.toLowerCase(Locale.ROOT);
        for (String candidate : known) {
            int d = distance(k, candidate.toLowerCase(Locale.ROOT));
            if (d < bestDistance) {
                bestDistance = d;
                best = candidate;
            }
        }
        return bestDistance <= Math.max(3, key.length() / 5) ? best : null;
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
