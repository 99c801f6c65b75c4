package io.stoker.spark.cli;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code bin/stoker submit [spark-submit arguments]}: spark-submit semantics on any machine. With a Spark
 * installation ({@code $SPARK_HOME/bin/spark-submit}) it runs that. Otherwise it runs Spark's own
 * {@code org.apache.spark.deploy.SparkSubmit} in a child JVM on Spark's classpath from this project (Stoker's own
 * classes left out, so the application and {@code --jars} bring Stoker exactly as on a real cluster), with a fake
 * {@code SPARK_HOME} so {@code local-cluster[...]} masters can start executor JVMs.
 */
public final class SubmitCommand {
    private SubmitCommand() {
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args));
    }

    /** @return spark-submit's exit code */
    public static int run(String[] args) throws IOException, InterruptedException {
        if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.println("usage: bin/stoker submit [spark-submit options] <app jar> [app arguments]\n"
                    + "  Runs $SPARK_HOME/bin/spark-submit when SPARK_HOME holds a Spark installation, else Spark's"
                    + " SparkSubmit from this project's classpath.\n"
                    + "  Stoker: --jars spark-plugin/target/stoker-spark-plugin-<version>-shaded.jar"
                    + " --conf spark.plugins=io.stoker.spark.StokerSparkPlugin");
            return 0;
        }
        return command(List.of(args)).inheritIO().start().waitFor();
    }

    /** @return the process that runs spark-submit with {@code args} (not started) */
    public static ProcessBuilder command(List<String> args) {
        String home = System.getenv("SPARK_HOME");
        if (home != null && Files.isExecutable(Path.of(home, "bin", "spark-submit"))) {
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(home, "bin", "spark-submit").toString());
            cmd.addAll(args);
            return new ProcessBuilder(cmd);
        }
        String cp = String.join(File.pathSeparator, sparkClasspath());
        List<String> cmd = new ArrayList<>();
        cmd.add(LocalSparkHome.javaExecutable());
        cmd.addAll(LocalSparkHome.jvmOptions());
        cmd.add("-cp");
        cmd.add(cp);
        cmd.add("org.apache.spark.deploy.SparkSubmit");
        String master = valueOf(args, "--master");
        if (LocalSparkHome.launchesExecutors(master) && !hasConf(args, "spark.executor.extraClassPath")) {
            cmd.add("--conf");
            cmd.add("spark.executor.extraClassPath=" + cp);
        }
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = LocalSparkHome.childEnvironment(LocalSparkHome.fakeHome());
        pb.environment().clear();
        pb.environment().putAll(env);
        return pb;
    }

    /** @return this JVM's classpath without Stoker's own modules (their classes come with the app and --jars) */
    static List<String> sparkClasspath() {
        List<String> out = new ArrayList<>();
        for (String e : LocalSparkHome.classpath()) {
            Path p = Path.of(e);
            String name = p.getFileName() == null ? "" : p.getFileName().toString();
            boolean stokerJar = name.startsWith("stoker-") && name.endsWith(".jar");
            boolean stokerClasses = Files.isDirectory(p.resolve("io").resolve("stoker"));
            if (!stokerJar && !stokerClasses) {
                out.add(e);
            }
        }
        return out;
    }

    private static String valueOf(List<String> args, String option) {
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i).equals(option) && i + 1 < args.size()) {
                return args.get(i + 1);
            }
            if (args.get(i).startsWith(option + "=")) {
                return args.get(i).substring(option.length() + 1);
            }
        }
        return null;
    }

    private static boolean hasConf(List<String> args, String key) {
        for (String a : args) {
            if (a.startsWith(key + "=")) {
                return true;
            }
        }
        return false;
    }
}
