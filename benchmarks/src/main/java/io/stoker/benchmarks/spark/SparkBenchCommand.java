package io.stoker.benchmarks.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.spark.Stoker;
import io.stoker.spark.StokerSparkPlugin;
import io.stoker.spark.actor.ActorPoolSpec;
import io.stoker.spark.cli.LocalSparkHome;
import io.stoker.spark.graph.GraphSpec;
import io.stoker.spark.plugin.ExecutorReport;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Spark benchmarks of the Stoker operator. Run with the project classpath and Spark's module flags (see
 * docs/performance.md, "Spark operator"):
 * <ul>
 *   <li>{@code operator}: {@link OperatorBenchmark} under JMH, one fork per mode: identity graph vs plain
 *   {@code mapPartitions} identity vs no transformation; prints rows/s per mode and Stoker's ratio to
 *   mapPartitions.</li>
 *   <li>{@code operator-interleaved}: the same three modes in one JVM and one SparkSession, run in rotating order
 *   for {@code --rounds} rounds after a warm-up, so background load on a shared machine hits all modes alike;
 *   prints each mode's median and the median of the per-round Stoker/mapPartitions throughput ratios.</li>
 *   <li>{@code model-load}: a model whose constructor takes {@code --load-ms} (2000), {@code --partitions} (64) x
 *   {@code --jobs} (3) on {@code local-cluster[2,1,1024]}: Stoker's pool (one actor per executor, built once)
 *   against a naive per-partition load in {@code mapPartitions}; constructions and wall times side by side.</li>
 *   <li>{@code llm}: LLM batch inference five ways (engine alone, llmMap, engine per partition, engine per task,
 *   SQL), each in its own JVM: see {@link io.stoker.benchmarks.spark.llm.SparkLlmBench}.</li>
 * </ul>
 * The last output line is one JSON object.
 */
public final class SparkBenchCommand {
    private static final StructType SCORE = new StructType().add("score", DataTypes.LongType);

    private SparkBenchCommand() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
            System.out.println("usage: SparkBenchCommand operator [--rows N] [--batch-rows B] [--iterations I]\n"
                    + "       SparkBenchCommand operator-interleaved [--rows N] [--batch-rows B] [--rounds R]\n"
                    + "       SparkBenchCommand model-load [--load-ms MS] [--partitions P] [--jobs J] [--rows N]"
                    + " [--master local-cluster[2,1,1024]]\n"
                    + "       SparkBenchCommand llm [--prompts N] [--max-tokens T] ... (llm --help for all options)");
            return;
        }
        String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "operator" -> operator(rest);
            case "operator-interleaved" -> operatorInterleaved(rest);
            case "model-load" -> System.exit(modelLoad(rest));
            case "llm" -> System.exit(io.stoker.benchmarks.spark.llm.SparkLlmBench.run(rest));
            default -> {
                System.err.println("unknown benchmark '" + args[0] + "' (operator, operator-interleaved, model-load, llm)");
                System.exit(2);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ operator

    static void operator(String[] args) throws Exception {
        String rows = "1000000";
        String batchRows = "4096";
        int iterations = 5;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rows" -> rows = args[++i];
                case "--batch-rows" -> batchRows = args[++i];
                case "--iterations" -> iterations = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<String> jvm = new ArrayList<>(LocalSparkHome.jvmOptions());
        jvm.add("-Xmx4g");
        Collection<RunResult> results = new Runner(new OptionsBuilder()
                .include(OperatorBenchmark.class.getName() + ".job$")
                .param("rows", rows)
                .param("batchRows", batchRows)
                .forks(1)
                .warmupIterations(3)
                .warmupTime(TimeValue.seconds(1))
                .measurementIterations(iterations)
                .measurementTime(TimeValue.seconds(1))
                .jvmArgs(jvm.toArray(new String[0]))
                .build()).run();
        long n = Long.parseLong(rows);
        Map<String, Double> msPerJob = new LinkedHashMap<>();
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("benchmark", "operator");
        o.put("rows", n);
        o.put("batch_rows", Integer.parseInt(batchRows));
        ObjectNode modes = o.putObject("modes");
        for (RunResult r : results) {
            String mode = r.getParams().getParam("mode");
            double ms = r.getPrimaryResult().getScore();
            double err = r.getPrimaryResult().getScoreError();
            msPerJob.put(mode, ms);
            ObjectNode m = modes.putObject(mode);
            m.put("ms_per_job", round(ms));
            m.put("ms_error_99", round(err));
            m.put("rows_per_sec", Math.round(n / (ms / 1000.0)));
            System.out.printf("%-14s %9.1f ms/job (±%.1f)  %,12d rows/s%n", mode, ms, err, Math.round(n / (ms / 1000)));
        }
        if (msPerJob.containsKey("stoker") && msPerJob.containsKey("mapPartitions")) {
            double ratio = msPerJob.get("mapPartitions") / msPerJob.get("stoker");
            o.put("stoker_rows_per_sec_vs_mapPartitions", round(ratio));
            System.out.printf("stoker throughput / mapPartitions throughput = %.3f%n", ratio);
        }
        System.out.println(o);
    }

    static void operatorInterleaved(String[] args) {
        long rows = 1_000_000;
        int batchRows = 4096;
        int rounds = 15;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rows" -> rows = Long.parseLong(args[++i]);
                case "--batch-rows" -> batchRows = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        String[] modes = {"none", "mapPartitions", "stoker"};
        OperatorBenchmark b = new OperatorBenchmark();
        b.rows = rows;
        b.batchRows = batchRows;
        b.master = "local[2]";
        b.mode = "none";
        b.start();
        try {
            Map<String, List<Double>> ms = new LinkedHashMap<>();
            for (String m : modes) {
                ms.put(m, new ArrayList<>());
            }
            List<Double> ratios = new ArrayList<>();
            for (int r = -3; r < rounds; r++) { // 3 warm-up rounds
                Map<String, Double> round = new LinkedHashMap<>();
                for (int k = 0; k < modes.length; k++) {
                    String m = modes[Math.floorMod(k + r, modes.length)];
                    b.mode = m;
                    long t = System.nanoTime();
                    b.job();
                    round.put(m, (System.nanoTime() - t) / 1e6);
                }
                if (r >= 0) {
                    round.forEach((m, v) -> ms.get(m).add(v));
                    ratios.add(round.get("mapPartitions") / round.get("stoker"));
                }
            }
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("benchmark", "operator-interleaved");
            o.put("rows", rows);
            o.put("batch_rows", batchRows);
            o.put("rounds", rounds);
            ObjectNode out = o.putObject("modes");
            for (String m : modes) {
                double med = median(ms.get(m));
                ObjectNode x = out.putObject(m);
                x.put("median_ms_per_job", round(med));
                x.put("min_ms_per_job", round(ms.get(m).stream().mapToDouble(Double::doubleValue).min().orElse(0)));
                x.put("rows_per_sec", Math.round(rows / (med / 1000)));
                System.out.printf("%-14s median %8.1f ms/job  %,12d rows/s%n", m, med, Math.round(rows / (med / 1000)));
            }
            double ratio = median(ratios);
            o.put("stoker_rows_per_sec_vs_mapPartitions_median", round(ratio));
            System.out.printf("stoker throughput / mapPartitions throughput, median of %d rounds = %.3f%n", rounds,
                    ratio);
            System.out.println(o);
        } finally {
            b.stop();
        }
    }

    private static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    // ------------------------------------------------------------------------------------------ model-load

    static int modelLoad(String[] args) throws Exception {
        long loadMs = 2000;
        int partitions = 64;
        int jobs = 3;
        long rows = 64_000;
        String master = "local-cluster[2,1,1024]";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--load-ms" -> loadMs = Long.parseLong(args[++i]);
                case "--partitions" -> partitions = Integer.parseInt(args[++i]);
                case "--jobs" -> jobs = Integer.parseInt(args[++i]);
                case "--rows" -> rows = Long.parseLong(args[++i]);
                case "--master" -> master = args[++i];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (LocalSparkHome.launchesExecutors(master) && !LocalSparkHome.hasSparkHome()) {
            List<String> again = new ArrayList<>(List.of("model-load"));
            again.addAll(List.of(args));
            return LocalSparkHome.relaunch(SparkBenchCommand.class.getName(), again.toArray(new String[0]));
        }
        SparkSession.Builder b = SparkSession.builder().master(master).appName("model-load-bench")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.warehouse.dir",
                        Path.of(System.getProperty("java.io.tmpdir"), "stoker-bench-warehouse").toString())
                .config("spark.plugins", StokerSparkPlugin.class.getName());
        int executors = 1;
        if (LocalSparkHome.launchesExecutors(master)) {
            b.config("spark.executor.extraClassPath", System.getProperty("java.class.path"));
            executors = Integer.parseInt(master.replaceAll("local-cluster\\[(\\d+),.*", "$1"));
        }
        SparkSession spark = b.getOrCreate();
        try {
            spark.sparkContext().setLogLevel("WARN");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (spark.sparkContext().statusTracker().getExecutorInfos().length < executors + 1
                    && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            Dataset<Row> df = spark.range(0, rows, 1, partitions).toDF();
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("benchmark", "model-load");
            o.put("master", master);
            o.put("load_ms", loadMs);
            o.put("partitions", partitions);
            o.put("jobs", jobs);
            o.put("rows_per_job", rows);

            GraphSpec spec = GraphSpec.builder("model")
                    .pool(ActorPoolSpec.ofClass("model", SlowModel.class).withCount(1)
                            .withProperty("loadMillis", Long.toString(loadMs)))
                    .actor("score", "model", "score", GraphSpec.INPUT)
                    .build();
            List<Long> stokerJobs = new ArrayList<>();
            for (int j = 0; j < jobs; j++) {
                long t = System.nanoTime();
                df.transform(Stoker.mapBatches(spec, SCORE).dropInput()).write().format("noop").mode("overwrite")
                        .save();
                stokerJobs.add((System.nanoTime() - t) / 1_000_000);
            }
            long stokerInits = 0;
            for (ExecutorReport r : Stoker.executorReports(spark).values()) {
                stokerInits += r.poolActorInits().getOrDefault("model", 0L);
            }

            LongAccumulator naiveInits = spark.sparkContext().longAccumulator("naive-constructions");
            List<Long> naiveJobs = new ArrayList<>();
            for (int j = 0; j < jobs; j++) {
                long t = System.nanoTime();
                df.mapPartitions(naive(loadMs, naiveInits), Encoders.row(SCORE)).write().format("noop")
                        .mode("overwrite").save();
                naiveJobs.add((System.nanoTime() - t) / 1_000_000);
            }
            put(o.putObject("stoker"), stokerInits, stokerJobs);
            put(o.putObject("naive"), naiveInits.value(), naiveJobs);
            System.out.printf("stoker: %d constructions, %d ms for %d jobs %s%n", stokerInits,
                    stokerJobs.stream().mapToLong(Long::longValue).sum(), jobs, stokerJobs);
            System.out.printf("naive : %d constructions, %d ms for %d jobs %s%n", naiveInits.value(),
                    naiveJobs.stream().mapToLong(Long::longValue).sum(), jobs, naiveJobs);
            System.out.println(o);
            return 0;
        } finally {
            spark.stop();
        }
    }

    /** The naive way: load the model in every partition. */
    private static MapPartitionsFunction<Row, Row> naive(long loadMs, LongAccumulator inits) {
        return it -> {
            SlowModel m = new SlowModel(loadMs, null);
            inits.add(1);
            return new Iterator<Row>() {
                @Override
                public boolean hasNext() {
                    return it.hasNext();
                }

                @Override
                public Row next() {
                    return RowFactory.create(m.scoreOne(it.next().getLong(0)));
                }
            };
        };
    }

    private static void put(ObjectNode n, long constructions, List<Long> jobMs) {
        n.put("constructions", constructions);
        n.put("wall_ms", jobMs.stream().mapToLong(Long::longValue).sum());
        ArrayNode a = n.putArray("job_ms");
        jobMs.forEach(a::add);
    }

    private static double round(double d) {
        return Math.round(d * 1000) / 1000.0;
    }
}
