package io.stoker.shell;

import io.stoker.spark.StokerSparkPlugin;
import io.stoker.spark.cli.LocalSparkHome;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Path;
import java.util.Map;

/**
 * Starts the SparkSession of {@code bin/stoker shell} and {@code bin/stoker sql}: Spark from this project's
 * classpath (no Spark installation), Stoker's plugin on (which adds the SQL extension with {@code llm_generate}),
 * and, for the shell, the directory the REPL compiles into served to executors as spark-shell does. Also sets up
 * the command line's logging. Stateless.
 */
public final class ShellSessions {
    static final String QUIET_LOG_CONFIG = "io/stoker/shell/log4j2-quiet.properties";
    static final String VERBOSE_LOG_CONFIG = "io/stoker/shell/log4j2-verbose.properties";

    private ShellSessions() {
    }

    /**
     * Points Log4j 2 at the command line's configuration (errors only, task failures left to the command's own
     * message; with {@code verbose}, Spark's warnings and Stoker's info), unless the user gave one. Call before
     * anything logs.
     */
    public static void configureLogging(boolean verbose) {
        if (System.getProperty("log4j2.configurationFile") == null
                && System.getProperty("log4j.configurationFile") == null) {
            System.setProperty("log4j2.configurationFile", verbose ? VERBOSE_LOG_CONFIG : QUIET_LOG_CONFIG);
        }
    }

    /**
     * @return true when {@code options} name a master that starts executor JVMs and there is no Spark installation:
     *     the command must then run again in a child JVM that has a fake {@code SPARK_HOME}
     *     ({@link LocalSparkHome#relaunch})
     */
    public static boolean needsRelaunch(SessionOptions options) {
        return LocalSparkHome.launchesExecutors(options.effectiveMaster()) && !LocalSparkHome.hasSparkHome();
    }

    /**
     * @param appName        the application name
     * @param options        master and confs (the user's confs win, except that Stoker's plugin is always added)
     * @param replClassesDir where the REPL writes the classes it compiles (served to executors), or null
     */
    public static SparkSession start(String appName, SessionOptions options, Path replClassesDir) {
        String master = options.effectiveMaster();
        SparkSession.Builder b = SparkSession.builder().appName(appName).master(master);
        b.config("spark.ui.showConsoleProgress", String.valueOf(System.console() != null));
        if (LocalSparkHome.launchesExecutors(master)) {
            // executors of local-cluster[...] are JVMs started from this classpath (no Spark installation)
            b.config("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        }
        for (Map.Entry<String, String> e : options.conf().entrySet()) {
            b.config(e.getKey(), e.getValue());
        }
        b.config("spark.plugins", withStokerPlugin(options.conf().get("spark.plugins")));
        if (replClassesDir != null) {
            b.config("spark.repl.class.outputDir", replClassesDir.toAbsolutePath().toString());
        }
        return b.getOrCreate();
    }

    /** @return {@code plugins} with Stoker's plugin class added when it is not there */
    static String withStokerPlugin(String plugins) {
        String stoker = StokerSparkPlugin.class.getName();
        if (plugins == null || plugins.isBlank()) {
            return stoker;
        }
        for (String p : plugins.split(",")) {
            if (p.strip().equals(stoker)) {
                return plugins;
            }
        }
        return plugins + "," + stoker;
    }
}
