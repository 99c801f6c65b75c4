package io.stoker.spark.metrics;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * One executor's Stoker metrics, registered in the Dropwizard registry of the plugin context, so Spark's metrics
 * system publishes them (source {@code plugin.io.stoker.spark.StokerSparkPlugin}) to its configured sinks. Every
 * metric is registered in the constructor: Spark picks up a plugin's metrics when its {@code init} returns.
 *
 * <p>Thread-safety: all methods may be called from any thread. {@link #version()} moves whenever a counter does,
 * so reporters can skip unchanged snapshots.
 */
public final class StokerMetrics {
    /** Metric names, as they appear under the plugin's source. */
    public static final String ACTOR_INITS = "actorInits";
    public static final String ACTOR_INIT_FAILURES = "actorInitFailures";
    public static final String TASKS = "tasks";
    public static final String BATCHES = "batches";
    public static final String ROWS_IN = "rowsIn";
    public static final String ROWS_OUT = "rowsOut";
    public static final String EXECUTIONS = "executions";
    public static final String FAILED_EXECUTIONS = "failedExecutions";
    public static final String GRAPH_COMPILES = "graphCompiles";
    public static final String ARTIFACT_FETCHES = "artifactFetches";
    public static final String ARTIFACT_CACHE_HITS = "artifactCacheHits";
    public static final String ARTIFACT_BYTES = "artifactBytes";
    public static final String BATCH_LATENCY = "batchLatency";
    public static final String ARROW_ALLOCATED_BYTES = "arrowAllocatedBytes";
    public static final String ACTORS_ALIVE = "actorsAlive";
    public static final String LLM_MODEL_LOADS = "llmModelLoads";
    public static final String LLM_ROWS = "llmRows";
    public static final String LLM_ERRORED_ROWS = "llmErroredRows";
    public static final String LLM_INPUT_TOKENS = "llmInputTokens";
    public static final String LLM_GENERATED_TOKENS = "llmGeneratedTokens";
    public static final String LLM_TOKEN_RATE = "llmGeneratedTokensPerSecond";
    public static final String LLM_QUEUE_DEPTH = "llmQueueDepth";
    public static final String LLM_RUNNING = "llmRunningSequences";
    public static final String LLM_KV_USED_PERMILLE = "llmKvUsedPermille";
    public static final String LLM_BATCH_SIZE = "llmBatchSize";

    private final MetricRegistry registry;
    private final Counter actorInits;
    private final Counter actorInitFailures;
    private final Counter tasks;
    private final Counter batches;
    private final Counter rowsIn;
    private final Counter rowsOut;
    private final Counter executions;
    private final Counter failedExecutions;
    private final Counter graphCompiles;
    private final Counter artifactFetches;
    private final Counter artifactCacheHits;
    private final Counter artifactBytes;
    private final Timer batchLatency;
    private final Counter llmModelLoads;
    private final Counter llmRows;
    private final Counter llmErroredRows;
    private final Counter llmInputTokens;
    private final Counter llmGeneratedTokens;
    private final com.codahale.metrics.Meter llmTokenRate;
    private final com.codahale.metrics.Histogram llmBatchSize;
    private volatile java.util.function.Supplier<java.util.Collection<io.stoker.llm.batch.LlmEngine.Stats>> llmStats =
            java.util.List::of;
    private final AtomicLong version = new AtomicLong();

    /**
     * @param registry       where to register (the plugin context's)
     * @param arrowAllocated reads the executor allocator's allocated bytes
     * @param actorsAlive    reads the number of live pool actors
     */
    public StokerMetrics(MetricRegistry registry, LongSupplier arrowAllocated, LongSupplier actorsAlive) {
        this.registry = registry;
        actorInits = registry.counter(ACTOR_INITS);
        actorInitFailures = registry.counter(ACTOR_INIT_FAILURES);
        tasks = registry.counter(TASKS);
        batches = registry.counter(BATCHES);
        rowsIn = registry.counter(ROWS_IN);
        rowsOut = registry.counter(ROWS_OUT);
        executions = registry.counter(EXECUTIONS);
        failedExecutions = registry.counter(FAILED_EXECUTIONS);
        graphCompiles = registry.counter(GRAPH_COMPILES);
        artifactFetches = registry.counter(ARTIFACT_FETCHES);
        artifactCacheHits = registry.counter(ARTIFACT_CACHE_HITS);
        artifactBytes = registry.counter(ARTIFACT_BYTES);
        batchLatency = registry.timer(BATCH_LATENCY);
        llmModelLoads = registry.counter(LLM_MODEL_LOADS);
        llmRows = registry.counter(LLM_ROWS);
        llmErroredRows = registry.counter(LLM_ERRORED_ROWS);
        llmInputTokens = registry.counter(LLM_INPUT_TOKENS);
        llmGeneratedTokens = registry.counter(LLM_GENERATED_TOKENS);
        llmTokenRate = registry.meter(LLM_TOKEN_RATE);
        llmBatchSize = registry.histogram(LLM_BATCH_SIZE);
        registry.register(LLM_QUEUE_DEPTH, (Gauge<Long>) () -> sumStats(st -> st.waiting()));
        registry.register(LLM_RUNNING, (Gauge<Long>) () -> sumStats(st -> st.running()));
        registry.register(LLM_KV_USED_PERMILLE, (Gauge<Long>) () -> {
            long total = sumStats(st -> st.totalBlocks());
            return total == 0 ? 0 : 1000 * (total - sumStats(st -> st.freeBlocks())) / total;
        });
        registry.register(ARROW_ALLOCATED_BYTES, (Gauge<Long>) arrowAllocated::getAsLong);
        registry.register(ACTORS_ALIVE, (Gauge<Long>) actorsAlive::getAsLong);
    }

    public MetricRegistry registry() {
        return registry;
    }

    public void actorInit() {
        inc(actorInits, 1);
    }

    public void actorInitFailure() {
        inc(actorInitFailures, 1);
    }

    public void task() {
        inc(tasks, 1);
    }

    public void batchIn(long rows) {
        batches.inc();
        inc(rowsIn, rows);
    }

    public void batchOut(long rows, long latencyNanos) {
        executions.inc();
        batchLatency.update(latencyNanos, TimeUnit.NANOSECONDS);
        inc(rowsOut, rows);
    }

    public void executionFailed() {
        inc(failedExecutions, 1);
    }

    public void graphCompiled() {
        inc(graphCompiles, 1);
    }

    public void artifactFetched(long bytes) {
        artifactBytes.inc(bytes);
        inc(artifactFetches, 1);
    }

    public void artifactCacheHit() {
        inc(artifactCacheHits, 1);
    }

    /** Sets where the LLM gauges (queue depth, running sequences, KV use) read the engines' counters. */
    public void llmEngineStats(java.util.function.Supplier<java.util.Collection<io.stoker.llm.batch.LlmEngine.Stats>> s) {
        llmStats = s;
    }

    private long sumStats(java.util.function.ToLongFunction<io.stoker.llm.batch.LlmEngine.Stats> f) {
        long n = 0;
        for (io.stoker.llm.batch.LlmEngine.Stats st : llmStats.get()) {
            n += f.applyAsLong(st);
        }
        return n;
    }

    public void llmModelLoad() {
        inc(llmModelLoads, 1);
    }

    /** Records one finished batch of an LLM call: rows, errored rows, tokens, and the engines' batch size. */
    public void llmBatch(long rows, long errored, long inputTokens, long generatedTokens, long engineBatchSize) {
        llmErroredRows.inc(errored);
        llmInputTokens.inc(inputTokens);
        llmGeneratedTokens.inc(generatedTokens);
        llmTokenRate.mark(generatedTokens);
        llmBatchSize.update(engineBatchSize);
        inc(llmRows, rows);
    }

    private void inc(Counter c, long n) {
        c.inc(n);
        version.incrementAndGet();
    }

    /** @return a number that changes whenever a counter changes */
    public long version() {
        return version.get();
    }

    /** @return counters and gauges by name, plus batch latency percentiles in microseconds */
    public Map<String, Long> snapshot() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put(ACTOR_INITS, actorInits.getCount());
        m.put(ACTOR_INIT_FAILURES, actorInitFailures.getCount());
        m.put(TASKS, tasks.getCount());
        m.put(BATCHES, batches.getCount());
        m.put(ROWS_IN, rowsIn.getCount());
        m.put(ROWS_OUT, rowsOut.getCount());
        m.put(EXECUTIONS, executions.getCount());
        m.put(FAILED_EXECUTIONS, failedExecutions.getCount());
        m.put(GRAPH_COMPILES, graphCompiles.getCount());
        m.put(ARTIFACT_FETCHES, artifactFetches.getCount());
        m.put(ARTIFACT_CACHE_HITS, artifactCacheHits.getCount());
        m.put(ARTIFACT_BYTES, artifactBytes.getCount());
        m.put(ARROW_ALLOCATED_BYTES, gauge(ARROW_ALLOCATED_BYTES));
        m.put(ACTORS_ALIVE, gauge(ACTORS_ALIVE));
        m.put(LLM_MODEL_LOADS, llmModelLoads.getCount());
        m.put(LLM_ROWS, llmRows.getCount());
        m.put(LLM_ERRORED_ROWS, llmErroredRows.getCount());
        m.put(LLM_INPUT_TOKENS, llmInputTokens.getCount());
        m.put(LLM_GENERATED_TOKENS, llmGeneratedTokens.getCount());
        com.codahale.metrics.Snapshot s = batchLatency.getSnapshot();
        m.put("batchLatencyP50Micros", (long) s.getMedian() / 1_000);
        m.put("batchLatencyP99Micros", (long) s.get99thPercentile() / 1_000);
        return m;
    }

    private long gauge(String name) {
        Object v = registry.getGauges().get(name).getValue();
        return v instanceof Number ? ((Number) v).longValue() : -1;
    }
}
