package io.stoker.examples.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.spark.Stoker;
import io.stoker.spark.StokerSparkPlugin;
import io.stoker.spark.actor.ActorPoolSpec;
import io.stoker.spark.cli.LocalSparkHome;
import io.stoker.spark.graph.GraphSpec;
import io.stoker.spark.metrics.StokerMetrics;
import io.stoker.spark.plugin.ExecutorReport;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The Spark demo ({@code bin/stoker demo --master 'local-cluster[2,1,1024]' --json}, or an application jar for
 * {@code bin/stoker submit}): several jobs push a DataFrame of texts through a two-step graph (a CPU tokenizer
 * pool, then a scorer pool pinned to GPUs when the executors have any) living in each executor. The last output
 * line is one JSON object built from Stoker's own metrics: {@code rows_in}, {@code rows_out}, and per executor
 * {@code actor_inits}, {@code tasks}, rows and GPUs.
 */
public final class SparkDemo {
    static final StructType OUTPUT = new StructType()
            .add("score", DataTypes.DoubleType)
            .add("tokens", DataTypes.IntegerType)
            .add("placement", DataTypes.StringType);

    private SparkDemo() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** @return the process exit code (1 with the cause on stderr when the job fails) */
    public static int run(String[] args) {
        try {
            return run0(args);
        } catch (Exception e) {
            System.err.println("stoker demo: " + e);
            e.printStackTrace();
            return 1;
        }
    }

    private static int run0(String[] args) throws Exception {
        String master = null;
        boolean json = false;
        long rows = 200_000;
        int partitions = 8;
        int jobs = 3;
        int batchRows = 1024;
        long loadMillis = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--master" -> master = args[++i];
                case "--json" -> json = true;
                case "--rows" -> rows = Long.parseLong(args[++i]);
                case "--partitions" -> partitions = Integer.parseInt(args[++i]);
                case "--jobs" -> jobs = Integer.parseInt(args[++i]);
                case "--batch-rows" -> batchRows = Integer.parseInt(args[++i]);
                case "--load-ms" -> loadMillis = Long.parseLong(args[++i]);
                case "--help", "-h" -> {
                    System.out.println("usage: bin/stoker demo --master <local[N]|local-cluster[E,C,MB]|spark://...>"
                            + " [--rows N] [--partitions P] [--jobs J] [--batch-rows B] [--load-ms MS] [--json]");
                    return 0;
                }
                default -> {
                    System.err.println("stoker demo: unknown option '" + args[i] + "' (try --help)");
                    return 2;
                }
            }
        }
        boolean submitted = System.getProperty("spark.master") != null; // under spark-submit, which sets the master
        if (!submitted && master == null) {
            master = "local[2]";
        }
        if (!submitted && LocalSparkHome.launchesExecutors(master) && !LocalSparkHome.hasSparkHome()) {
            // Executor JVMs need SPARK_HOME in the environment: run the demo again in a child JVM that has it.
            return LocalSparkHome.relaunch(SparkDemo.class.getName(), args);
        }
        SparkSession.Builder b = SparkSession.builder().appName("stoker-demo")
                .config("spark.plugins", StokerSparkPlugin.class.getName())
                .config("spark.ui.enabled", "false")
                .config("spark.sql.warehouse.dir",
                        Path.of(System.getProperty("java.io.tmpdir"), "stoker-demo-warehouse").toString());
        if (!submitted) {
            b.master(master);
            if (LocalSparkHome.launchesExecutors(master)) {
                b.config("spark.executor.extraClassPath", System.getProperty("java.class.path"));
                b.config("spark.executor.extraJavaOptions", "-XX:TieredStopAtLevel=1");
            }
        }
        SparkSession spark = b.getOrCreate();
        try {
            return runJobs(spark, rows, partitions, jobs, batchRows, loadMillis, json);
        } finally {
            spark.stop();
        }
    }

    /** The demo's graph: tokenizer (CPU) then scorer (one per GPU when there are GPUs). */
    public static GraphSpec graph(long loadMillis) {
        return GraphSpec.builder("demo")
                .pool(ActorPoolSpec.ofClass("demo-tokenizer", DemoTokenizer.class).withCount(1))
                .pool(ActorPoolSpec.ofClass("demo-scorer", DemoScorer.class).withGpus(1)
                        .withProperty("loadMillis", Long.toString(loadMillis)))
                .actor("tokens", "demo-tokenizer", "encode", GraphSpec.INPUT)
                .actor("scores", "demo-scorer", "score", "tokens")
                .build();
    }

    static int runJobs(SparkSession spark, long rows, int partitions, int jobs, int batchRows, long loadMillis,
                       boolean json) {
        Dataset<Row> texts = spark.range(0, rows, 1, partitions)
                .selectExpr("id", "concat('The quick brown fox number ', id, ' jumps over the lazy dog') AS text");
        GraphSpec spec = graph(loadMillis);
        List<Long> jobMillis = new ArrayList<>();
        long outRows = 0;
        long t0 = System.nanoTime();
        for (int j = 0; j < jobs; j++) {
            long s = System.nanoTime();
            Row r = texts.transform(Stoker.mapBatches(spec, OUTPUT).batchRows(batchRows))
                    .selectExpr("count(*)", "sum(tokens)").first();
            jobMillis.add((System.nanoTime() - s) / 1_000_000);
            outRows += r.getLong(0);
            if (!json) {
                System.out.printf("job %d: %d rows, %d tokens in %d ms%n", j, r.getLong(0), r.getLong(1),
                        jobMillis.get(j));
            }
        }
        long wall = (System.nanoTime() - t0) / 1_000_000;
        Map<String, ExecutorReport> reports = Stoker.executorReports(spark);
        ObjectMapper om = new ObjectMapper();
        ObjectNode o = om.createObjectNode();
        o.put("master", spark.sparkContext().master());
        o.put("spark_version", spark.version());
        o.put("jobs", jobs);
        o.put("partitions", partitions);
        o.put("rows_per_job", rows);
        o.put("batch_rows", batchRows);
        long rowsIn = 0;
        long rowsOut = 0;
        long inits = 0;
        ObjectNode execs = o.putObject("executors");
        for (ExecutorReport rep : reports.values()) {
            rowsIn += rep.metric(StokerMetrics.ROWS_IN);
            rowsOut += rep.metric(StokerMetrics.ROWS_OUT);
            inits += rep.metric(StokerMetrics.ACTOR_INITS);
            ObjectNode e = execs.putObject(rep.executorId());
            e.put("actor_inits", rep.metric(StokerMetrics.ACTOR_INITS));
            e.put("tasks", rep.metric(StokerMetrics.TASKS));
            e.put("batches", rep.metric(StokerMetrics.BATCHES));
            e.put("rows_in", rep.metric(StokerMetrics.ROWS_IN));
            e.put("rows_out", rep.metric(StokerMetrics.ROWS_OUT));
            e.put("batch_latency_p50_us", rep.metric("batchLatencyP50Micros"));
            e.put("pid", rep.pid());
            ArrayNode g = e.putArray("gpus");
            rep.gpuAddresses().forEach(g::add);
            ObjectNode actors = e.putObject("actors");
            rep.actorGpus().forEach((name, ids) -> {
                ArrayNode a = actors.putArray(name);
                ids.forEach(a::add);
            });
        }
        o.put("rows_in", rowsIn);
        o.put("rows_out", rowsOut);
        o.put("rows_collected", outRows);
        o.put("actor_inits", inits);
        o.put("wall_ms", wall);
        ArrayNode jm = o.putArray("job_ms");
        jobMillis.forEach(jm::add);
        if (!json) {
            System.out.printf("%d jobs x %d partitions: %d rows in, %d rows out, %d actors constructed on %d"
                    + " executor(s), %d ms%n", jobs, partitions, rowsIn, rowsOut, inits, reports.size(), wall);
        }
        System.out.println(o.toString());
        return rowsIn == rowsOut && outRows == rows * jobs ? 0 : 1;
    }
}
