package io.stoker.spark.cli;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs Spark from the project's Maven classpath on a machine without a Spark installation. Spark's launcher looks
 * for {@code $SPARK_HOME/jars} (and the Scala version) when it starts executor JVMs, which {@code local-cluster[...]}
 * masters and the standalone worker do; a directory with an empty {@code jars/} plus
 * {@code SPARK_SCALA_VERSION=2.13} and {@code spark.executor.extraClassPath=<this classpath>} satisfies it.
 *
 * <p>Environment variables can only be given to a new process, so callers relaunch in a child JVM with
 * {@link #childEnvironment}. Stateless; methods may be called from any thread.
 */
public final class LocalSparkHome {
    private LocalSparkHome() {
    }

    /** @return true when {@code SPARK_HOME} names a directory holding a {@code jars/} directory */
    public static boolean hasSparkHome() {
        String home = System.getenv("SPARK_HOME");
        return home != null && !home.isBlank() && Files.isDirectory(Path.of(home, "jars"));
    }

    /** @return true for a {@code local-cluster[...]} master, which launches executor JVMs */
    public static boolean launchesExecutors(String master) {
        return master != null && master.startsWith("local-cluster");
    }

    /** @return a fake Spark home ({@code <tmp>/stoker-spark-home/jars}, created when missing) */
    public static Path fakeHome() {
        Path home = Path.of(System.getProperty("java.io.tmpdir"), "stoker-spark-home");
        try {
            Files.createDirectories(home.resolve("jars"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a fake SPARK_HOME at " + home, e);
        }
        return home;
    }

    /** @return the environment a child JVM needs to run Spark from this classpath: SPARK_HOME, Scala version, loopback */
    public static Map<String, String> childEnvironment(Path sparkHome) {
        Map<String, String> env = new java.util.HashMap<>(System.getenv());
        env.put("SPARK_HOME", sparkHome.toString());
        env.putIfAbsent("SPARK_SCALA_VERSION", "2.13");
        env.putIfAbsent("SPARK_LOCAL_IP", "127.0.0.1");
        return env;
    }

    /** @return the JVM options of this process (module flags etc.), to pass on to a child JVM */
    public static List<String> jvmOptions() {
        List<String> out = new ArrayList<>();
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-agentlib:jdwp") && !a.startsWith("-javaagent")) {
                out.add(a);
            }
        }
        return out;
    }

    /** @return the java executable of this JVM */
    public static String javaExecutable() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /**
     * Runs {@code mainClass args} in a child JVM with this JVM's options and classpath and the environment of
     * {@link #childEnvironment}, inheriting stdin/stdout/stderr.
     *
     * @return the child's exit code
     */
    public static int relaunch(String mainClass, String[] args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaExecutable());
        cmd.addAll(jvmOptions());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        pb.environment().clear();
        pb.environment().putAll(childEnvironment(fakeHome()));
        return pb.start().waitFor();
    }

    /** @return the entries of this JVM's classpath */
    public static List<String> classpath() {
        List<String> out = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!e.isEmpty()) {
                out.add(e);
            }
        }
        return out;
    }
}
