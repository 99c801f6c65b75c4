package io.stoker.spark.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * How {@code bin/stoker submit} rewrites a spark-submit command line: Stoker's jar and plugin class added and merged
 * with what the user gave, the application's own arguments untouched, and the driver options turned into the child
 * JVM's options when there is no Spark installation. The end-to-end runs are in integration-tests
 * ({@code SparkSubmitTest}).
 */
class SubmitCommandTest {
    private static final Path PLUGIN = Path.of("/opt/stoker/stoker-spark-plugin-9.9-shaded.jar");
    private static final Supplier<Path> JAR = () -> PLUGIN;
    private static final Supplier<Path> MUST_NOT_LOOK = () -> {
        throw new AssertionError("the plugin jar was looked up although the command line has one");
    };

    private static List<String> rewrite(Map<String, String> fileProps, Supplier<Path> jar, String... args) {
        return SubmitCommand.withStokerPlugin(SubmitArguments.parse(List.of(args)), fileProps, jar).toList();
    }

    @Test
    void shouldAddPluginJarAndClassBeforeTheAppJarAndLeaveAppArgumentsAlone() {
        List<String> out = rewrite(Map.of(), JAR, "--master", "local[2]", "--class", "com.acme.Job", "app.jar",
                "--jars", "not-for-spark-submit.jar");
        assertThat(out).containsExactly("--master", "local[2]", "--class", "com.acme.Job",
                "--jars", PLUGIN.toString(), "--conf", "spark.plugins=io.stoker.spark.StokerSparkPlugin",
                "app.jar", "--jars", "not-for-spark-submit.jar");
    }

    @Test
    void shouldAppendToTheUsersJarsAndPluginsInsteadOfReplacingThem() {
        List<String> out = rewrite(Map.of(), JAR, "--jars", "a.jar,b.jar", "--conf", "spark.plugins=com.acme.P",
                "--conf=spark.ui.enabled=false", "--class", "com.acme.Job", "app.jar");
        assertThat(out).containsExactly("--jars", "a.jar,b.jar," + PLUGIN, "--conf",
                "spark.plugins=com.acme.P,io.stoker.spark.StokerSparkPlugin", "--conf", "spark.ui.enabled=false",
                "--class", "com.acme.Job", "app.jar");
    }

    @Test
    void shouldExtendSparkJarsWhenTheJarsAreGivenThatWay() {
        List<String> out = rewrite(Map.of(), JAR, "-c", "spark.jars=a.jar", "app.jar");
        assertThat(out).containsExactly("-c", "spark.jars=a.jar," + PLUGIN, "--conf",
                "spark.plugins=io.stoker.spark.StokerSparkPlugin", "app.jar");
    }

    @Test
    void shouldAddNothingTheCommandLineAlreadyHas() {
        String[] args = {"--jars", "hdfs:///libs/stoker-spark-plugin-0.1.0-shaded.jar", "--conf",
                "spark.plugins=com.acme.P,io.stoker.spark.StokerSparkPlugin", "app.jar"};
        assertThat(rewrite(Map.of(), MUST_NOT_LOOK, args)).containsExactly(args);
    }

    @Test
    void shouldKeepTheJarsAndPluginsOfThePropertiesFile() {
        List<String> out = rewrite(Map.of("spark.jars", "/libs/a.jar", "spark.plugins", "com.acme.P"), JAR,
                "app.jar");
        assertThat(out).containsExactly("--jars", "/libs/a.jar," + PLUGIN, "--conf",
                "spark.plugins=com.acme.P,io.stoker.spark.StokerSparkPlugin", "app.jar");
    }

    @Test
    void shouldReadThePropertiesFileGivenOnTheCommandLine(@TempDir Path dir) throws IOException {
        assumeFalse(sparkInstalled(), "SPARK_HOME holds a Spark installation");
        Path props = Files.writeString(dir.resolve("job.conf"), "spark.plugins  com.acme.P\nspark.ui.enabled false\n");
        List<String> cmd = SubmitCommand.command(List.of("--properties-file", props.toString(), "app.jar"), JAR)
                .command();
        assertThat(cmd).contains("spark.plugins=com.acme.P,io.stoker.spark.StokerSparkPlugin");
    }

    @Test
    void shouldAddNeitherJarNorPluginWithNoStokerPlugin() {
        SubmitArguments a = SubmitArguments.parse(List.of("--no-stoker-plugin", "--master", "local", "app.jar"));
        assertThat(a.has(SubmitCommand.NO_PLUGIN)).isTrue();
        assumeFalse(sparkInstalled(), "SPARK_HOME holds a Spark installation");
        List<String> cmd = SubmitCommand.command(a.toList(), MUST_NOT_LOOK).command();
        assertThat(cmd).doesNotContain("--no-stoker-plugin", "--jars")
                .noneMatch(s -> s.startsWith("spark.plugins="));
        assertThat(cmd.subList(cmd.indexOf("org.apache.spark.deploy.SparkSubmit"), cmd.size()))
                .containsExactly("org.apache.spark.deploy.SparkSubmit", "--master", "local", "app.jar");
    }

    @Test
    void shouldGiveTheDriverJvmTheDriverOptionsWhenSparkSubmitRunsInAChildJvm() {
        assumeFalse(sparkInstalled(), "SPARK_HOME holds a Spark installation");
        List<String> cmd = SubmitCommand.command(List.of("--master", "local[2]",
                "--conf", "spark.driver.extraJavaOptions=-Dfrom.conf=1",
                "--driver-java-options", "-Dstoker.a=1 -Dstoker.b='two words' -Dstoker.c=\"x y\"",
                "--driver-memory", "700m", "--driver-class-path", "/opt/extra.jar",
                "--class", "com.acme.Job", "app.jar", "--driver-memory", "9g"), JAR).command();
        int main = cmd.indexOf("org.apache.spark.deploy.SparkSubmit");
        List<String> jvm = cmd.subList(0, main);
        // --driver-java-options came last, so it replaces spark.driver.extraJavaOptions, as in spark-submit.
        assertThat(jvm).contains("-Xmx700m", "-Dstoker.a=1", "-Dstoker.b=two words", "-Dstoker.c=x y")
                .doesNotContain("-Dfrom.conf=1", "-Xmx9g");
        assertThat(jvm.get(jvm.indexOf("-cp") + 1)).startsWith("/opt/extra.jar" + java.io.File.pathSeparator);
        assertThat(jvm.lastIndexOf("-Xmx700m")).isGreaterThan(jvm.indexOf("--add-opens=java.base/java.nio=ALL-UNNAMED"));
    }

    @Test
    void shouldApplySparkDriverExtraJavaOptionsGivenAsConf() {
        assumeFalse(sparkInstalled(), "SPARK_HOME holds a Spark installation");
        List<String> cmd = SubmitCommand.command(List.of("--driver-java-options", "-Dignored=1",
                "--conf", "spark.driver.extraJavaOptions=-Dfrom.conf=1 -XX:+UseSerialGC",
                "--conf", "spark.driver.defaultJavaOptions=-Dfrom.default=1", "app.jar"), JAR).command();
        List<String> jvm = cmd.subList(0, cmd.indexOf("org.apache.spark.deploy.SparkSubmit"));
        assertThat(jvm).contains("-Dfrom.default=1", "-Dfrom.conf=1", "-XX:+UseSerialGC").doesNotContain("-Dignored=1");
        assertThat(jvm.indexOf("-Dfrom.default=1")).isLessThan(jvm.indexOf("-Dfrom.conf=1"));
    }

    @Test
    void shouldLeaveTheDriverJvmAloneInClusterDeployMode() {
        assumeFalse(sparkInstalled(), "SPARK_HOME holds a Spark installation");
        List<String> cmd = SubmitCommand.command(List.of("--deploy-mode", "cluster", "--driver-java-options",
                "-Dstoker.a=1", "app.jar"), JAR).command();
        List<String> jvm = cmd.subList(0, cmd.indexOf("org.apache.spark.deploy.SparkSubmit"));
        assertThat(jvm).doesNotContain("-Dstoker.a=1");
        assertThat(cmd).contains("--driver-java-options", "-Dstoker.a=1");
    }

    @Test
    void shouldRefuseMaxHeapInJavaOptionsNamingTheOption() {
        assertThatThrownBy(() -> SubmitCommand.driverJvmOptions(Map.of("spark.driver.extraJavaOptions",
                "-Xmx4g -Da=1")))
                .hasMessageContaining("spark.driver.extraJavaOptions=-Xmx4g -Da=1 sets the maximum heap")
                .hasMessageContaining("use --driver-memory");
        assertThatThrownBy(() -> SubmitCommand.driverJvmOptions(Map.of("spark.driver.extraJavaOptions",
                "-Da='open")))
                .hasMessageContaining("spark.driver.extraJavaOptions: invalid option string");
    }

    @Test
    void shouldSplitOptionStringsLikeSparksLauncher() {
        assertThat(OptionStrings.split("  -Da=1\t-Db='x  \"y\"' -Dc=\"p \\\"q\\\"\" -Dd=e\\ f ''"))
                .containsExactly("-Da=1", "-Db=x  \"y\"", "-Dc=p \"q\"", "-Dd=e f", "");
        assertThat(OptionStrings.split("")).isEmpty();
    }

    @Test
    void shouldFindTheShadedJarNextToTheClassesOrTheModuleJar(@TempDir Path dir) throws IOException {
        Path classes = Files.createDirectories(dir.resolve("target/classes"));
        Path plain = Files.writeString(dir.resolve("target/stoker-spark-plugin-1.0.jar"), "x");
        assertThat(PluginJar.near(classes)).isNull();
        Path shaded = Files.writeString(dir.resolve("target/stoker-spark-plugin-1.0-shaded.jar"), "x");
        assertThat(PluginJar.near(classes)).isEqualTo(shaded);
        assertThat(PluginJar.near(plain)).isEqualTo(shaded);
        assertThat(PluginJar.near(shaded)).isEqualTo(shaded);
    }

    private static boolean sparkInstalled() {
        String home = System.getenv("SPARK_HOME");
        return home != null && Files.isExecutable(Path.of(home, "bin", "spark-submit"));
    }
}
