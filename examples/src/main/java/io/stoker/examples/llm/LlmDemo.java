package io.stoker.examples.llm;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.DemoModel;
import io.stoker.spark.Stoker;
import io.stoker.spark.StokerSparkPlugin;
import io.stoker.spark.cli.LocalSparkHome;
import io.stoker.spark.llm.Llm;
import io.stoker.spark.llm.LlmProgress;
import io.stoker.spark.metrics.StokerMetrics;
import io.stoker.spark.plugin.ExecutorReport;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import static org.apache.spark.sql.functions.col;

/**
 * {@code bin/stoker demo}: LLM batch inference over a DataFrame of questions with the bundled demo model on Spark.
 * The questions are the demo model's held-out set (number-comparison and word tasks it never saw in training), sent as
 * chats (with the system prompt each was asked with); the answers are written as Parquet, then read back to check
 * them. Prints a progress line, a sample of question → answer rows and a summary; {@code --json} ends with one
 * JSON line: {@code rows_in}, {@code rows_out}, {@code errors}, {@code exact_match}, {@code tokens_per_s},
 * {@code engine_loads} (executor id → model loads).
 */
public final class LlmDemo {
    private static final StructType QUESTIONS = new StructType()
            .add("id", DataTypes.LongType, false)
            .add("task", DataTypes.StringType, false)
            .add("system", DataTypes.StringType, true)
            .add("question", DataTypes.StringType, false)
            .add("expected", DataTypes.StringType, false);

    private LlmDemo() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** @return the exit code: 0 when every row came back, 1 on failure (cause on stderr), 2 on bad arguments */
    public static int run(String[] args) {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("stoker demo: " + e.getMessage() + " (try --help)");
            return 2;
        }
        if (o == null) {
            return 0;
        }
        try {
            boolean submitted = System.getProperty("spark.master") != null;
            if (!submitted && LocalSparkHome.launchesExecutors(o.master) && !LocalSparkHome.hasSparkHome()) {
                return LocalSparkHome.relaunch(LlmDemo.class.getName(), args);
            }
            SparkSession.Builder b = SparkSession.builder().appName("stoker-llm-demo")
                    .config("spark.plugins", StokerSparkPlugin.class.getName())
                    .config("spark.ui.enabled", "false")
                    .config("spark.executor.heartbeatInterval", "2s")
                    .config("spark.sql.shuffle.partitions", "4")
                    .config("spark.sql.warehouse.dir",
                            Path.of(System.getProperty("java.io.tmpdir"), "stoker-demo-warehouse").toString());
            if (!submitted) {
                b.master(o.master);
                if (LocalSparkHome.launchesExecutors(o.master)) {
                    b.config("spark.executor.extraClassPath", System.getProperty("java.class.path"));
                }
            }
            SparkSession spark = b.getOrCreate();
            try {
                return run(spark, o);
            } finally {
                spark.stop();
            }
        } catch (Exception e) {
            System.err.println("stoker demo: " + e);
            e.printStackTrace();
            return 1;
        }
    }

    /** The questions: the held-out set, cycled to {@code rows}. */
    static Dataset<Row> questions(SparkSession spark, int rows, int partitions) {
        List<DemoModel.Question> held = DemoModel.heldOut();
        List<Row> out = new ArrayList<>(rows);
        for (int i = 0; i < rows; i++) {
            DemoModel.Question q = held.get(i % held.size());
            out.add(org.apache.spark.sql.RowFactory.create((long) i, q.task(), q.system(), q.question(), q.answer()));
        }
        return spark.createDataFrame(out, QUESTIONS).repartition(partitions);
    }

    static int run(SparkSession spark, Options o) {
        Dataset<Row> questions = questions(spark, o.rows, o.partitions);
        // A chat per row: the system prompt the question was asked with (if any), then the question.
        Dataset<Row> chats = questions.selectExpr("id", "task", "question", "expected",
                "CASE WHEN system IS NULL THEN array(named_struct('role', 'user', 'content', question))"
                        + " ELSE array(named_struct('role', 'system', 'content', system),"
                        + " named_struct('role', 'user', 'content', question)) END AS chat");
        Llm llm = Llm.model(o.model).maxTokens(o.maxTokens);
        Dataset<Row> answers = chats.transform(Stoker.llm(llm).messages(col("chat"))).drop("chat");
        if (!o.json) {
            System.out.println("stoker demo: " + o.rows + " questions → " + o.model + " on " + spark.sparkContext()
                    .master() + ", " + o.partitions + " partitions; answers → " + o.out);
        }
        long t0 = System.nanoTime();
        try (LlmProgress progress = LlmProgress.start(spark, o.rows, line -> System.err.println("  " + line), 2000)) {
            answers.write().mode(SaveMode.Overwrite).parquet(o.out);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        Dataset<Row> written = spark.read().parquet(o.out).cache();
        long rowsOut = written.count();
        long errors = written.filter("error IS NOT NULL").count();
        List<Row> all = written.select("id", "task", "question", "expected", "generated_text",
                "num_generated_tokens").orderBy("id").collectAsList();
        long correct = 0;
        long tokens = 0;
        for (Row r : all) {
            String got = r.getString(4);
            if (got != null && got.equals(r.getString(3))) {
                correct++;
            }
            tokens += r.getInt(5);
        }
        double exact = rowsOut == 0 ? 0 : (double) correct / rowsOut;
        Map<String, Long> loads = new TreeMap<>();
        for (ExecutorReport rep : Stoker.executorReports(spark).values()) {
            if (rep.metric(StokerMetrics.LLM_ROWS) > 0 || rep.metric(StokerMetrics.LLM_MODEL_LOADS) > 0) {
                loads.put(rep.executorId(), rep.metric(StokerMetrics.LLM_MODEL_LOADS));
            }
        }
        if (!o.json) {
            System.out.println("sample:");
            for (int i = 0; i < Math.min(o.show, all.size()); i++) {
                Row r = all.get(i * Math.max(1, all.size() / Math.max(1, o.show)) % all.size());
                boolean ok = r.getString(3).equals(r.getString(4));
                System.out.printf(Locale.ROOT, "  [%s] %-44s → %-16s %s%n", r.getString(1), r.getString(2),
                        r.getString(4), ok ? "✓" : "✗ (expected " + r.getString(3) + ")");
            }
            System.out.printf(Locale.ROOT, "%d rows in, %d rows out, %d errors; exact match %.1f%%; %d tokens in"
                            + " %.1f s (%.0f tokens/s); model loads per executor %s%n", o.rows, rowsOut, errors,
                    100 * exact, tokens, secs, tokens / secs, loads);
        }
        ObjectNode j = new ObjectMapper().createObjectNode();
        j.put("master", spark.sparkContext().master());
        j.put("model", o.model);
        j.put("rows_in", o.rows);
        j.put("rows_out", rowsOut);
        j.put("errors", errors);
        j.put("exact_match", Math.round(exact * 10000) / 10000.0);
        j.put("generated_tokens", tokens);
        j.put("tokens_per_s", Math.round(tokens / secs * 10) / 10.0);
        j.put("wall_s", Math.round(secs * 100) / 100.0);
        j.put("output", o.out);
        ObjectNode l = j.putObject("engine_loads");
        loads.forEach(l::put);
        if (o.json) {
            System.out.println(j);
        }
        written.unpersist();
        return rowsOut == o.rows ? 0 : 1;
    }

    /** Command-line options. */
    static final class Options {
        String master = "local[2]";
        int rows = 200;
        int partitions = 4;
        String model = DemoModel.NAME;
        int maxTokens = 16;
        String out = Path.of(System.getProperty("java.io.tmpdir"), "stoker-demo-answers.parquet").toString();
        boolean json;
        int show = 8;

        /** @return the options, or null after printing --help */
        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--master" -> o.master = value(args, ++i, a);
                    case "--rows" -> o.rows = positive(args, ++i, a);
                    case "--partitions" -> o.partitions = positive(args, ++i, a);
                    case "--model" -> o.model = value(args, ++i, a);
                    case "--max-tokens" -> o.maxTokens = positive(args, ++i, a);
                    case "--out" -> o.out = value(args, ++i, a);
                    case "--show" -> o.show = positive(args, ++i, a);
                    case "--json" -> o.json = true;
                    case "--help", "-h" -> {
                        System.out.println("usage: bin/stoker demo [--master local[2]|local-cluster[E,C,MB]|spark://...]"
                                + " [--rows 200] [--partitions 4] [--model demo|PATH|URI] [--max-tokens 16]"
                                + " [--out DIR] [--show 8] [--json]\n"
                                + "       bin/stoker demo graph ...   the compiled-graph demo (no LLM)");
                        return null;
                    }
                    default -> throw new IllegalArgumentException("unknown option '" + a + "'");
                }
            }
            return o;
        }

        private static String value(String[] args, int i, String name) {
            if (i >= args.length) {
                throw new IllegalArgumentException(name + " needs a value");
            }
            return args[i];
        }

        private static int positive(String[] args, int i, String name) {
            String v = value(args, i, name);
            try {
                int n = Integer.parseInt(v);
                if (n >= 1) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // below
            }
            throw new IllegalArgumentException(name + "=" + v + " must be a whole number >= 1");
        }
    }
}
