package io.stoker.benchmarks.spark.llm;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.LoadedModel;
import io.stoker.llm.ModelLoader;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.spark.Stoker;
import io.stoker.spark.StokerSparkPlugin;
import io.stoker.spark.executor.ExecutorRuntime;
import io.stoker.spark.executor.ExecutorRuntimes;
import io.stoker.spark.llm.Llm;
import io.stoker.spark.llm.LlmProcessor;
import io.stoker.spark.metrics.StokerMetrics;
import io.stoker.spark.plugin.DriverState;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import static org.apache.spark.sql.functions.col;

/**
 * One way of {@code bin/stoker bench spark llm}, alone in a fresh JVM (so its peak RSS is its own): an untimed
 * warm-up run (JIT; engines that live on are built), then the timed run of every prompt. Prints one JSON line with
 * throughput, generated-token totals, model loads, engine steps, memory (baseline and peak RSS, the model files'
 * resident mappings) and CPU time per thread role.
 *
 * <p>Scheduling on a shared host: Linux (autogroup/CFS) gives a process whose threads often sleep and wake a far
 * larger CPU share under contention than one whose threads only compute. Stoker's idle actors wake every millisecond
 * (their bounded park), so an llmMap JVM got 3-4x the CPU of an engine-alone JVM on a loaded 2-core machine, doing the
 * same work per token. Unless turned off, every worker therefore runs one thread that wakes every millisecond, which
 * gives every way the same treatment (and costs well under 1% of a core).
 *
 * <p>args: way round options... ({@link LlmBenchOptions}; {@code --model} is a resolved path)
 */
public final class LlmWayWorker {
    private static final StructType INPUT = new StructType().add("id", DataTypes.LongType)
            .add("q", DataTypes.StringType);
    private static final String[] OUT_COLS = {"id", "generated_text", "num_input_tokens", "num_generated_tokens",
        "error"};

    private final Way way;
    private final LlmBenchOptions opts;
    private final ObjectNode out = new ObjectMapper().createObjectNode();
    private final Set<String> weightFiles;
    private SparkSession spark;

    private LlmWayWorker(Way way, LlmBenchOptions opts) {
        this.way = way;
        this.opts = opts;
        this.weightFiles = ProcessMemory.weightFiles(Path.of(opts.model()));
    }

    public static void main(String[] args) throws Exception {
        Way way = Way.parse(args[0]);
        int round = Integer.parseInt(args[1]);
        LlmBenchOptions opts = LlmBenchOptions.parse(Arrays.copyOfRange(args, 2, args.length));
        if (opts.equalizer()) {
            Thread t = new Thread(() -> {
                while (true) {
                    java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
                }
            }, "bench-wakeup-equalizer");
            t.setDaemon(true);
            t.start();
        }
        LlmWayWorker w = new LlmWayWorker(way, opts);
        w.out.put("benchmark", "spark-llm");
        w.out.put("way", way.id());
        w.out.put("letter", way.letter());
        w.out.put("round", round);
        w.run();
        System.out.println(w.out);
        System.out.flush();
        System.exit(0); // engines and Spark leave daemon and pool threads behind
    }

    /** What a run of the prompts gave, over every row. */
    private record Totals(long rows, long generated, long input, long errors, long rowsShort, String digest) {
    }

    private void run() throws Exception {
        List<String> prompts = BenchPrompts.make(opts.prompts());
        List<String> warm = BenchPrompts.make(opts.warmupPrompts());
        out.put("prompts", opts.prompts());
        out.put("max_tokens", opts.maxTokens());
        out.put("model", opts.model());
        out.put("cores", Runtime.getRuntime().availableProcessors());
        out.put("load_avg_start", loadAverage());
        out.put("kv_cache_mb_per_engine", opts.kvCacheMb());
        long fileKb = ProcessMemory.sizeKb(weightFiles);
        out.put("model_file_mb", fileKb / 1024);
        if (way == Way.ENGINE) {
            engineAlone(prompts, warm, fileKb);
            return;
        }
        out.put("master", opts.master());
        out.put("partitions", opts.effectivePartitions());
        spark = SparkSession.builder().master(opts.master()).appName("bench-spark-llm-" + way.id())
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.warehouse.dir",
                        Path.of(System.getProperty("java.io.tmpdir"), "stoker-bench-warehouse").toString())
                .config("spark.plugins", StokerSparkPlugin.class.getName())
                .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            Dataset<Row> warmDf = frame(warm);
            Dataset<Row> df = frame(prompts);
            df.count(); // Spark's first job: classes loaded, threads started
            long baselineKb = ProcessMemory.statusKb("VmRSS");
            try (ProcessMemory.PeakSampler sampler = new ProcessMemory.PeakSampler(weightFiles, 2000)) {
                long w0 = System.nanoTime();
                Counters before = counters();
                collect(plan(warmDf, opts.warmupTokens(), "warmup"));
                out.put("warmup_wall_ms", (System.nanoTime() - w0) / 1_000_000);
                Counters afterWarmup = counters();
                ThreadCpu.Snapshot cpu = ThreadCpu.snapshot();
                long t0 = System.nanoTime();
                Totals t = collect(plan(df, opts.maxTokens(), "timed"));
                long wallNanos = System.nanoTime() - t0;
                out.set("cpu_s", new ObjectMapper().valueToTree(ThreadCpu.groupsSince(cpu)));
                out.set("run_queue_wait_s", new ObjectMapper().valueToTree(ThreadCpu.waitSince(cpu)));
                Counters end = counters();
                putRun(t, wallNanos);
                out.put("model_loads", end.loads - before.loads);
                out.put("model_loads_timed", end.loads - afterWarmup.loads);
                out.put("engine_steps", end.steps - afterWarmup.steps);
                out.put("tokens_per_step", round2(t.generated / (double) Math.max(1, end.steps - afterWarmup.steps)));
                putMemory(sampler, baselineKb, fileKb);
            }
        } finally {
            spark.stop();
        }
    }

    // ------------------------------------------------------------------------------------------ (a) engine alone

    private void engineAlone(List<String> prompts, List<String> warm, long fileKb) {
        long baselineKb = ProcessMemory.statusKb("VmRSS");
        int threads = opts.engineThreads() > 0 ? opts.engineThreads() : Runtime.getRuntime().availableProcessors();
        out.put("engines", 1);
        out.put("engine_threads", threads);
        try (ProcessMemory.PeakSampler sampler = new ProcessMemory.PeakSampler(weightFiles, 2000)) {
            long w0 = System.nanoTime();
            LoadedModel m = ModelLoader.load(opts.model());
            try (LlmEngine e = LlmEngine.local(m, PeerEngines.engineConfig((long) opts.kvCacheMb() << 20, threads))) {
                generateAll(e, warm, opts.warmupTokens());
                out.put("warmup_wall_ms", (System.nanoTime() - w0) / 1_000_000);
                long s0 = e.stats().steps();
                ThreadCpu.Snapshot cpu = ThreadCpu.snapshot();
                long t0 = System.nanoTime();
                List<Row> rows = generateAll(e, prompts, opts.maxTokens());
                long wallNanos = System.nanoTime() - t0;
                out.set("cpu_s", new ObjectMapper().valueToTree(ThreadCpu.groupsSince(cpu)));
                out.set("run_queue_wait_s", new ObjectMapper().valueToTree(ThreadCpu.waitSince(cpu)));
                Totals t = totals(rows);
                putRun(t, wallNanos);
                out.put("model_loads", 1);
                out.put("model_loads_timed", 0);
                long steps = e.stats().steps() - s0;
                out.put("engine_steps", steps);
                out.put("tokens_per_step", round2(t.generated / (double) Math.max(1, steps)));
                putMemory(sampler, baselineKb, fileKb);
            } finally {
                m.close();
            }
        }
    }

    /** Submits every prompt at once (encoding on this thread), then steps the engine here until all finished. */
    private static List<Row> generateAll(LlmEngine e, List<String> prompts, int maxTokens) {
        List<CompletableFuture<GenerationResult>> fs = new ArrayList<>(prompts.size());
        for (String p : prompts) {
            fs.add(e.submit(GenerationRequest.ofText(p, PeerEngines.sampling(maxTokens))));
        }
        e.runUntilIdle();
        List<Row> rows = new ArrayList<>(prompts.size());
        for (int i = 0; i < fs.size(); i++) {
            GenerationResult g = fs.get(i).join();
            rows.add(RowFactory.create((long) i, g.text(), g.promptIds().length, g.tokenIds().length, null));
        }
        return rows;
    }

    // ------------------------------------------------------------------------------------------ Spark ways

    private Dataset<Row> frame(List<String> prompts) {
        List<Row> rows = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            rows.add(RowFactory.create((long) i, prompts.get(i)));
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        return spark.createDataFrame(jsc.parallelize(rows, opts.effectivePartitions()), INPUT);
    }

    /** Counters of the way: model loads and engine steps so far. */
    private record Counters(long loads, long steps) {
    }

    private LongAccumulator peerLoads;
    private LongAccumulator peerSteps;

    private Counters counters() {
        return switch (way) {
            case LLM_MAP, SQL -> {
                ExecutorRuntime rt = runtime();
                long steps = 0;
                int engines = 0;
                for (AutoCloseable s : rt.services()) {
                    if (s instanceof LlmProcessor p && p.isHealthy()) {
                        for (io.stoker.llm.batch.LlmEngine.Stats st : p.stats()) {
                            steps += st.steps();
                            engines++;
                        }
                    }
                }
                if (engines > 0) {
                    out.put("engines", engines);
                    out.put("engine_threads", opts.engineThreads() > 0 ? opts.engineThreads()
                            : Math.max(1, Runtime.getRuntime().availableProcessors() / engines));
                }
                Long loads = rt.metrics().snapshot().get(StokerMetrics.LLM_MODEL_LOADS);
                yield new Counters(loads == null ? 0 : loads, steps);
            }
            default -> new Counters(peerLoads == null ? 0 : peerLoads.value(), peerSteps == null ? 0
                    : peerSteps.value());
        };
    }

    private ExecutorRuntime runtime() {
        return ExecutorRuntimes.find(DriverState.forContext(spark.sparkContext()).session(),
                SparkEnv.get().executorId());
    }

    private Llm llm(int maxTokens) {
        Llm l = Llm.model(opts.model()).maxTokens(maxTokens).option("ignore_eos", true).chatTemplate(false)
                .kvCacheMb(opts.kvCacheMb());
        l = opts.engineThreads() > 0 ? l.threads(opts.engineThreads()) : l;
        return opts.llmEngines() > 0 ? l.engines(opts.llmEngines()) : l;
    }

    private Dataset<Row> plan(Dataset<Row> df, int maxTokens, String phase) {
        switch (way) {
            case LLM_MAP:
                return df.transform(Stoker.llm(llm(maxTokens)).prompt(col("q"))).select(cols());
            case SQL:
                df.createOrReplaceTempView("bench_prompts_" + phase);
                return spark.sql("SELECT id, r.generated_text, r.num_input_tokens, r.num_generated_tokens, r.error"
                        + " FROM (SELECT id, llm_generate(q, 'model', '" + opts.model().replace("'", "\\'")
                        + "', 'max_tokens', " + maxTokens + ", 'ignore_eos', true, 'chat_template', false,"
                        + " 'kv_cache_mb', " + opts.kvCacheMb()
                        + (opts.engineThreads() > 0 ? ", 'threads', " + opts.engineThreads() : "")
                        + (opts.llmEngines() > 0 ? ", 'engines', " + opts.llmEngines() : "")
                        + ") AS r FROM bench_prompts_" + phase + ")");
            case PER_PARTITION:
            case PER_TASK: {
                if (peerLoads == null) {
                    peerLoads = spark.sparkContext().longAccumulator("model-loads");
                    peerSteps = spark.sparkContext().longAccumulator("engine-steps");
                    out.put("engines", Math.min(opts.slots(), opts.effectivePartitions())); // concurrent tasks
                    out.put("engine_threads", opts.effectivePeerThreads());
                    if (way == Way.PER_TASK) {
                        out.put("udf_batch_size", opts.udfBatchSize());
                    }
                }
                PeerEngines peer = new PeerEngines(opts.model(), (long) opts.kvCacheMb() << 20,
                        opts.effectivePeerThreads(), maxTokens, opts.udfBatchSize(), peerLoads, peerSteps);
                return df.mapPartitions(way == Way.PER_TASK ? peer.perTask() : peer.perPartition(),
                        Encoders.row(PeerEngines.OUTPUT));
            }
            default:
                throw new IllegalStateException(way.toString());
        }
    }

    private static org.apache.spark.sql.Column[] cols() {
        org.apache.spark.sql.Column[] c = new org.apache.spark.sql.Column[OUT_COLS.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = col(OUT_COLS[i]);
        }
        return c;
    }

    private Totals collect(Dataset<Row> result) {
        return totals(result.collectAsList());
    }

    // ------------------------------------------------------------------------------------------ results

    private Totals totals(List<Row> rows) {
        List<Row> sorted = new ArrayList<>(rows);
        sorted.sort(Comparator.comparingLong(r -> r.getLong(0)));
        long gen = 0;
        long in = 0;
        long errors = 0;
        long rowsShort = 0;
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        for (Row r : sorted) {
            int g = r.getInt(3);
            gen += g;
            in += r.getInt(2);
            if (!r.isNullAt(4)) {
                errors++;
            }
            if (g != opts.maxTokens()) {
                rowsShort++;
            }
            sha.update((r.getLong(0) + "\t" + r.getString(1) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return new Totals(sorted.size(), gen, in, errors, rowsShort,
                HexFormat.of().formatHex(sha.digest()).substring(0, 16));
    }

    private void putRun(Totals t, long wallNanos) {
        out.put("wall_ms", Math.round(wallNanos / 1e6));
        out.put("tokens_per_s", round2(t.generated * 1e9 / wallNanos));
        double cpu = out.path("cpu_s").path("process").asDouble();
        out.put("tokens_per_cpu_s", cpu > 0 ? round2(t.generated / cpu) : -1);
        out.put("cores_used", round2(cpu * 1e9 / wallNanos));
        out.put("wakeup_equalizer", opts.equalizer());
        out.put("rows", t.rows);
        out.put("generated_tokens", t.generated);
        out.put("input_tokens", t.input);
        out.put("errors", t.errors);
        out.put("rows_not_max_tokens", t.rowsShort);
        out.put("text_digest", t.digest);
    }

    private void putMemory(ProcessMemory.PeakSampler sampler, long baselineKb, long fileKb) {
        sampler.sample();
        ProcessMemory.Mapped peak = sampler.peak();
        long hwm = ProcessMemory.statusKb("VmHWM");
        out.put("baseline_rss_mb", baselineKb / 1024);
        out.put("peak_rss_mb", hwm / 1024);
        out.put("peak_minus_baseline_mb", (hwm - baselineKb) / 1024);
        out.put("model_mapped_rss_peak_mb", peak.rssKb() / 1024);
        out.put("model_mappings_at_peak", peak.mappings());
        out.put("model_copies", round2(peak.rssKb() / (double) Math.max(1, fileKb)));
    }

    private static double round2(double d) {
        return Math.round(d * 100) / 100.0;
    }

    private static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (Exception e) {
            return -1;
        }
    }
}
