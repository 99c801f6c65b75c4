package io.stoker.spark.cli;

import java.io.File;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.Supplier;

/**
 * {@code bin/stoker submit [spark-submit arguments]}: spark-submit semantics on any machine, with Stoker's plugin
 * added. With a Spark installation ({@code $SPARK_HOME/bin/spark-submit}) it runs that. Otherwise it runs Spark's
 * own {@code org.apache.spark.deploy.SparkSubmit} in a child JVM on Spark's classpath from this project (Stoker's
 * own classes left out, so the application and {@code --jars} bring Stoker exactly as on a real cluster), with a
 * fake {@code SPARK_HOME} so {@code local-cluster[...]} masters can start executor JVMs.
 *
 * <p>Stoker's plugin by default: the shaded plugin jar ({@link PluginJar}) is appended to {@code --jars} (or to
 * {@code spark.jars} when that is how the jars are given) and {@code io.stoker.spark.StokerSparkPlugin} to
 * {@code spark.plugins}, keeping what the command line or the properties file already lists. A plugin jar or the
 * plugin class already given is not added twice; {@code --no-stoker-plugin} adds neither.
 *
 * <p>Without a Spark installation the driver runs in the child JVM (client mode), so the settings spark-submit's
 * launcher turns into driver JVM options are applied to that JVM here: {@code --driver-memory} /
 * {@code spark.driver.memory} ({@code -Xmx}), {@code spark.driver.defaultJavaOptions},
 * {@code --driver-java-options} / {@code spark.driver.extraJavaOptions}, {@code --driver-class-path} /
 * {@code spark.driver.extraClassPath} and {@code --driver-library-path} / {@code spark.driver.extraLibraryPath}.
 * Stateless.
 */
public final class SubmitCommand {
    /** The class {@code spark.plugins} must list. */
    static final String PLUGIN_CLASS = "io.stoker.spark.StokerSparkPlugin";
    /** Leaves Stoker's jar and plugin class out (e.g. for an application jar that bundles Stoker itself). */
    static final String NO_PLUGIN = "--no-stoker-plugin";

    /** spark-submit options that set a Spark property, as its launcher reads them. */
    private static final Map<String, String> OPTION_PROPERTIES = Map.of(
            "--driver-memory", "spark.driver.memory",
            "--driver-java-options", "spark.driver.extraJavaOptions",
            "--driver-class-path", "spark.driver.extraClassPath",
            "--driver-library-path", "spark.driver.extraLibraryPath",
            "--deploy-mode", "spark.submit.deployMode",
            "--master", "spark.master",
            "--jars", "spark.jars");

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
                    + " SparkSubmit from this project's classpath (driver options applied to its JVM).\n"
                    + "  Adds Stoker's plugin: the shaded jar (spark-plugin/target/stoker-spark-plugin-<version>"
                    + "-shaded.jar, or $" + PluginJar.ENV + ") to --jars and " + PLUGIN_CLASS + " to spark.plugins,"
                    + " unless already given; " + NO_PLUGIN + " adds neither.");
            return 0;
        }
        ProcessBuilder pb;
        try {
            pb = command(List.of(args));
        } catch (IllegalArgumentException | IllegalStateException e) {
            System.err.println("stoker submit: " + e.getMessage());
            return 1;
        }
        return pb.inheritIO().start().waitFor();
    }

    /** @return the process that runs spark-submit with {@code args} and Stoker's plugin (not started) */
    public static ProcessBuilder command(List<String> args) {
        return command(args, PluginJar::locate);
    }

    /**
     * @param pluginJar Stoker's shaded plugin jar, asked for only when the command line does not already have one
     * @return the process that runs spark-submit with {@code args} and Stoker's plugin (not started)
     * @throws IllegalArgumentException when a properties file cannot be read or a driver option string is malformed
     */
    public static ProcessBuilder command(List<String> args, Supplier<Path> pluginJar) {
        SubmitArguments parsed = SubmitArguments.parse(args);
        String home = System.getenv("SPARK_HOME");
        boolean installed = home != null && Files.isExecutable(Path.of(home, "bin", "spark-submit"));
        Map<String, String> fileProps = propertiesFiles(parsed, installed ? Path.of(home) : null);
        if (parsed.has(NO_PLUGIN)) {
            parsed = parsed.without(NO_PLUGIN);
        } else {
            parsed = withStokerPlugin(parsed, fileProps, pluginJar);
        }
        if (installed) {
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(home, "bin", "spark-submit").toString());
            cmd.addAll(parsed.toList());
            return new ProcessBuilder(cmd);
        }
        return sparkSubmitInChildJvm(parsed, fileProps);
    }

    /** Adds the plugin jar and class unless present; merges with the jars and plugins already listed. */
    static SubmitArguments withStokerPlugin(SubmitArguments a, Map<String, String> fileProps,
                                            Supplier<Path> pluginJar) {
        SubmitArguments out = a;
        String cmdJars = a.value("--jars");
        String confJars = a.conf("spark.jars");
        String jars = cmdJars != null ? cmdJars : confJars != null ? confJars : fileProps.get("spark.jars");
        boolean hasJar = listed(jars).stream().anyMatch(j -> PluginJar.isPluginJarName(fileName(j)))
                || (a.primaryResource() != null && PluginJar.isPluginJarName(fileName(a.primaryResource())));
        if (!hasJar) {
            String merged = append(jars, pluginJar.get().toAbsolutePath().toString());
            // --jars wins over spark.jars in spark-submit, so extend whichever one is in force.
            out = cmdJars == null && confJars != null ? out.withConf("spark.jars", merged)
                    : out.withValue("--jars", merged);
        }
        String cmdPlugins = a.conf("spark.plugins");
        String plugins = cmdPlugins != null ? cmdPlugins : fileProps.get("spark.plugins");
        if (!listed(plugins).contains(PLUGIN_CLASS)) {
            out = out.withConf("spark.plugins", append(plugins, PLUGIN_CLASS));
        }
        return out;
    }

    private static ProcessBuilder sparkSubmitInChildJvm(SubmitArguments args, Map<String, String> fileProps) {
        Map<String, String> props = new LinkedHashMap<>(fileProps);
        props.putAll(args.sparkProperties(OPTION_PROPERTIES));
        String cp = String.join(File.pathSeparator, sparkClasspath());
        List<String> cmd = new ArrayList<>();
        cmd.add(LocalSparkHome.javaExecutable());
        cmd.addAll(LocalSparkHome.jvmOptions());
        boolean clientMode = !"cluster".equals(props.get("spark.submit.deployMode"));
        String driverCp = cp;
        if (clientMode) {
            cmd.addAll(driverJvmOptions(props));
            String extra = props.get("spark.driver.extraClassPath");
            if (extra != null && !extra.isBlank()) {
                driverCp = extra + File.pathSeparator + cp;
            }
        }
        cmd.add("-cp");
        cmd.add(driverCp);
        cmd.add("org.apache.spark.deploy.SparkSubmit");
        SubmitArguments submitted = args;
        if (LocalSparkHome.launchesExecutors(props.get("spark.master"))
                && !props.containsKey("spark.executor.extraClassPath")) {
            submitted = submitted.withConf("spark.executor.extraClassPath", cp);
        }
        cmd.addAll(submitted.toList());
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = LocalSparkHome.childEnvironment(LocalSparkHome.fakeHome());
        String libPath = props.get("spark.driver.extraLibraryPath");
        if (clientMode && libPath != null && !libPath.isBlank()) {
            String old = env.get("LD_LIBRARY_PATH");
            env.put("LD_LIBRARY_PATH", old == null || old.isEmpty() ? libPath : libPath + File.pathSeparator + old);
        }
        pb.environment().clear();
        pb.environment().putAll(env);
        return pb;
    }

    /**
     * The JVM options spark-submit's launcher gives a client-mode driver: {@code -Xmx} from spark.driver.memory,
     * then spark.driver.defaultJavaOptions, then spark.driver.extraJavaOptions (which {@code --driver-java-options}
     * sets).
     *
     * @throws IllegalArgumentException when an option string sets -Xmx (use --driver-memory) or is malformed
     */
    static List<String> driverJvmOptions(Map<String, String> props) {
        List<String> out = new ArrayList<>();
        String memory = props.get("spark.driver.memory");
        if (memory != null && !memory.isBlank()) {
            out.add("-Xmx" + memory.trim());
        }
        for (String key : List.of("spark.driver.defaultJavaOptions", "spark.driver.extraJavaOptions")) {
            String s = props.get(key);
            if (s == null) {
                continue;
            }
            if (s.contains("-Xmx")) {
                throw new IllegalArgumentException(key + "=" + s + " sets the maximum heap (-Xmx); use"
                        + " --driver-memory or spark.driver.memory instead");
            }
            try {
                out.addAll(OptionStrings.split(s));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    /**
     * The Spark properties spark-submit reads from files: {@code --properties-file}, and
     * {@code spark-defaults.conf} of {@code $SPARK_CONF_DIR} (else {@code $SPARK_HOME/conf}) when no properties file
     * is given or {@code --load-spark-defaults} is; the properties file wins.
     */
    private static Map<String, String> propertiesFiles(SubmitArguments a, Path sparkHome) {
        Map<String, String> out = new LinkedHashMap<>();
        String file = a.value("--properties-file");
        if (file == null || a.has("--load-spark-defaults")) {
            String confDir = System.getenv("SPARK_CONF_DIR");
            Path dir = confDir != null && !confDir.isBlank() ? Path.of(confDir)
                    : sparkHome != null ? sparkHome.resolve("conf") : null;
            if (dir != null && Files.isRegularFile(dir.resolve("spark-defaults.conf"))) {
                out.putAll(readProperties(dir.resolve("spark-defaults.conf")));
            }
        }
        if (file != null) {
            out.putAll(readProperties(Path.of(file)));
        }
        return out;
    }

    private static Map<String, String> readProperties(Path file) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the Spark properties file " + file + ": " + e, e);
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String k : p.stringPropertyNames()) {
            if (k.startsWith("spark.")) {
                out.put(k, p.getProperty(k).trim());
            }
        }
        return out;
    }

    private static List<String> listed(String commaSeparated) {
        if (commaSeparated == null || commaSeparated.isBlank()) {
            return List.of();
        }
        Set<String> out = new LinkedHashSet<>();
        for (String s : commaSeparated.split(",")) {
            if (!s.isBlank()) {
                out.add(s.trim());
            }
        }
        return new ArrayList<>(out);
    }

    private static String append(String commaSeparated, String item) {
        List<String> items = new ArrayList<>(listed(commaSeparated));
        items.add(item);
        return String.join(",", items);
    }

    private static String fileName(String pathOrUri) {
        String s = pathOrUri;
        int slash = s.lastIndexOf('/');
        return slash >= 0 ? s.substring(slash + 1) : s;
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
}
