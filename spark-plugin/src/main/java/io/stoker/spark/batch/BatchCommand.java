package io.stoker.spark.batch;

import io.stoker.spark.StokerSparkPlugin;
import io.stoker.spark.cli.LocalSparkHome;
import io.stoker.spark.llm.LlmConfigException;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;
import java.net.URL;
import java.util.Arrays;
import java.util.List;

/**
 * {@code bin/stoker batch}: an OpenAI Batch file through Spark into one output file ({@link BatchRun}). Runs the
 * driver in this JVM: with {@code --master local[N]} (the default) everything runs here; {@code local-cluster[...]}
 * relaunches the command with a fake SPARK_HOME so executor JVMs can start; on a cluster, start it with
 * {@code bin/stoker submit --class io.stoker.spark.batch.BatchCommand <stoker shaded jar> -i ... -o ...}. Prints
 * progress lines to stderr and a summary to stdout. Exit codes: 0 done (some lines may be error lines, as with
 * vllm run-batch), 1 the batch failed (the message says why; rerun to resume), 2 bad arguments.
 */
public final class BatchCommand {
    private BatchCommand() {
    }

    public static void main(String[] args) throws Exception {
        if (!Arrays.asList(args).contains("--verbose")) {
            quietLogging();
        }
        String master = masterArgument(Arrays.asList(args));
        if (LocalSparkHome.launchesExecutors(master) && !LocalSparkHome.hasSparkHome()) {
            // executor JVMs need SPARK_HOME, which only a new process can get
            System.exit(LocalSparkHome.relaunch(BatchCommand.class.getName(), args));
        }
        System.exit(run(Arrays.asList(args), System.out, System.err));
    }

    private static String masterArgument(List<String> args) {
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i).equals("--master") && i + 1 < args.size()) {
                return args.get(i + 1);
            }
            if (args.get(i).startsWith("--master=")) {
                return args.get(i).substring("--master=".length());
            }
        }
        return null;
    }

    /** Warnings and the batch's own steps only, unless a log4j2 configuration is given. Before any logger exists. */
    static void quietLogging() {
        if (System.getProperty("log4j2.configurationFile") == null) {
            URL config = BatchCommand.class.getResource("log4j2-batch.properties");
            if (config != null) {
                System.setProperty("log4j2.configurationFile", config.toExternalForm());
            }
        }
    }

    static int run(List<String> args, PrintStream out, PrintStream err) {
        BatchArguments a;
        BatchSpec spec;
        try {
            a = BatchArguments.parse(args);
            if (a.help()) {
                out.print(BatchArguments.USAGE);
                return 0;
            }
            spec = a.spec();
        } catch (IllegalArgumentException e) {
            err.println("stoker batch: " + e.getMessage() + (e instanceof LlmConfigException ? ""
                    : "\n(bin/stoker batch --help lists the options)"));
            return 2;
        } catch (UnsupportedOperationException e) {
            err.println("stoker batch: " + e.getMessage());
            return 1;
        }
        String master = a.master() != null ? a.master() : System.getProperty("spark.master", "local[*]");
        if (LocalSparkHome.launchesExecutors(master) && !LocalSparkHome.hasSparkHome()) {
            err.println("stoker batch: " + master + " starts executor JVMs, which needs SPARK_HOME (the command line"
                    + " relaunches itself with one; in-process callers set it)");
            return 2;
        }
        SparkSession spark = session(a, master);
        try {
            BatchSummary s = BatchRun.run(spark, spec, a.quiet() ? null : line -> err.println("stoker batch: " + line));
            out.println(a.json() ? s.toJson() : s.toString());
            return 0;
        } catch (Exception e) { // Spark throws its checked SparkException without declaring it
            err.println("stoker batch: failed: " + message(e) + "\n(rerun the same command to resume: answers"
                    + " committed so far are kept)");
            return 1;
        } finally {
            spark.stop();
        }
    }

    private static SparkSession session(BatchArguments a, String master) {
        SparkSession.Builder b = SparkSession.builder().appName("stoker batch").master(master)
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.executor.heartbeatInterval", "2s"); // lively progress lines
        String plugins = System.getProperty("spark.plugins", "");
        String plugin = StokerSparkPlugin.class.getName();
        if (!Arrays.asList(plugins.split(",")).contains(plugin)) {
            b.config("spark.plugins", plugins.isBlank() ? plugin : plugins + "," + plugin);
        }
        if (LocalSparkHome.launchesExecutors(master) && !a.sparkConf().containsKey("spark.executor.extraClassPath")
                && System.getProperty("spark.executor.extraClassPath") == null) { // spark-submit sets its own
            b.config("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        }
        a.sparkConf().forEach(b::config);
        return b.getOrCreate();
    }

    /** @return the message of the most specific Stoker error in the chain, else the first message */
    private static String message(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof DuplicateCustomIdException || t instanceof IllegalStateException
                    || t instanceof IllegalArgumentException) {
                return t.getMessage();
            }
        }
        return e.toString();
    }
}
