package io.stoker.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.example.stoker.WordStats;
import io.stoker.it.submitapp.ProbePlugin;
import io.stoker.it.submitapp.SubmitProbe;
import io.stoker.spark.cli.SubmitCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bin/stoker submit}: Spark's SparkSubmit (no Spark installation here) runs the example app jar on a
 * local cluster with the shaded plugin jar passed as {@code --jars}; Stoker's classes come only from that jar.
 * An outside user's application jar (docs/spark.md's example, built here) runs without naming Stoker's jar or
 * plugin, with the user's own plugin kept, and the driver JVM gets the driver options.
 */
class SparkSubmitTest {
    private static final Path JARS = Path.of(System.getProperty("stoker.it.submitJars", "target/submit-jars"));
    private static final Path PLUGIN = JARS.resolve("stoker-spark-plugin-shaded.jar");

    @Test
    @Timeout(240)
    void shouldRunExampleAppThroughSparkSubmitWithShadedPluginJar() throws Exception {
        Path plugin = PLUGIN;
        Path app = JARS.resolve("stoker-examples.jar");
        assertThat(plugin).as("shaded plugin jar (mvn package of spark-plugin)").exists();
        assertThat(app).exists();
        Path out = Path.of("target", "submit-stdout.txt");
        Path err = Path.of("target", "submit-stderr.txt");
        ProcessBuilder pb = SubmitCommand.command(List.of(
                "--master", Clusters.LOCAL_CLUSTER,
                "--conf", "spark.plugins=io.stoker.spark.StokerSparkPlugin",
                "--conf", "spark.ui.enabled=false",
                "--conf", "spark.driver.host=127.0.0.1",
                "--conf", "spark.executor.extraJavaOptions=-XX:TieredStopAtLevel=1",
                "--jars", plugin.toAbsolutePath().toString(),
                "--class", "io.stoker.examples.spark.SparkDemo",
                app.toAbsolutePath().toString(),
                "--json", "--rows", "6000", "--partitions", "4", "--jobs", "3"));
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        assertThat(String.join(" ", pb.command())).doesNotContain("/spark-plugin/target/classes");
        assertThat(pb.command().stream().filter(a -> a.contains("stoker-spark-plugin")))
                .as("the plugin jar given by the user is not added again").hasSize(1);
        Process p = pb.start();
        if (!p.waitFor(200, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError("spark-submit did not finish in 200 s; see " + err.toAbsolutePath());
        }
        List<String> lines = Files.readAllLines(out);
        assertThat(p.exitValue()).as("exit code; stderr in " + err.toAbsolutePath() + "; stdout " + lines).isZero();
        JsonNode o = new ObjectMapper().readTree(lines.get(lines.size() - 1));
        assertThat(o.get("rows_in").asLong()).isEqualTo(18_000);
        assertThat(o.get("rows_out").asLong()).isEqualTo(18_000);
        assertThat(o.get("executors").size()).isEqualTo(2);
        assertThat(Files.readString(err)).contains("stoker-spark-plugin-shaded.jar");
    }

    @Test
    @Timeout(240)
    void shouldRunTheExampleJobOfTheDocsWithNothingButItsJarKeepingTheUsersOwnPlugin(@TempDir Path dir)
            throws Exception {
        Path source = Path.of("src/test/java/com/example/stoker/WordStats.java");
        assertThat(Files.readString(Path.of("../docs/spark.md")))
                .as("docs/spark.md shows this tested example verbatim").contains(Files.readString(source));
        Path app = appJar(dir, "com/example/stoker", "io/stoker/it/submitapp");
        // No --jars, no Stoker in spark.plugins: the submit command adds both, after the user's own plugin.
        List<String> out = submit(dir, List.of(
                "--master", "local[2]",
                "--conf", "spark.plugins=" + ProbePlugin.class.getName(),
                "--conf", "spark.ui.enabled=false",
                "--conf", "spark.driver.host=127.0.0.1",
                "--driver-java-options", "-XX:TieredStopAtLevel=1",
                "--class", WordStats.class.getName(),
                app.toString()));
        assertThat(out).contains(ProbePlugin.LINE + " spark.plugins=[" + ProbePlugin.class.getName()
                        + ",io.stoker.spark.StokerSparkPlugin]")
                .containsSequence("jumps over | words=2 longest=5", "the lazy dog | words=3 longest=4",
                        "the quick brown fox | words=4 longest=5");
    }

    @Test
    @Timeout(240)
    void shouldGiveTheDriverJvmTheDriverJavaOptionsAndMemory(@TempDir Path dir) throws Exception {
        Path app = appJar(dir, "io/stoker/it/submitapp");
        List<String> out = submit(dir, List.of(
                "--master", "local[1]",
                "--driver-java-options", "-Dstoker.it.opt='two words' -XX:TieredStopAtLevel=1",
                "--driver-memory", "700m",
                "--class", SubmitProbe.class.getName(),
                app.toString()));
        String probe = probeLine(out);
        assertThat(probe).contains("opt=[two words]").contains("conf=[null]");
        long heapMb = Long.parseLong(probe.replaceAll(".*maxHeapMb=(\\d+).*", "$1"));
        assertThat(heapMb).as("driver max heap from --driver-memory 700m").isBetween(500L, 700L);
    }

    @Test
    @Timeout(240)
    void shouldGiveTheDriverJvmSparkDriverExtraJavaOptions(@TempDir Path dir) throws Exception {
        Path app = appJar(dir, "io/stoker/it/submitapp");
        List<String> out = submit(dir, List.of(
                "--master", "local[1]",
                "--conf", "spark.driver.extraJavaOptions=-Dstoker.it.conf=from-conf",
                "--class", SubmitProbe.class.getName(),
                app.toString()));
        assertThat(probeLine(out)).contains("conf=[from-conf]").contains("opt=[null]");
    }

    /** Runs {@code bin/stoker submit}'s command with the shaded plugin jar; returns stdout's lines. */
    private static List<String> submit(Path dir, List<String> args) throws Exception {
        assertThat(PLUGIN).as("shaded plugin jar (mvn package of spark-plugin)").exists();
        Path out = dir.resolve("stdout.txt");
        Path err = Path.of("target", "submit-probe-stderr-" + System.nanoTime() + ".txt");
        ProcessBuilder pb = SubmitCommand.command(args, () -> PLUGIN.toAbsolutePath());
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(200, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError("spark-submit did not finish in 200 s; see " + err.toAbsolutePath());
        }
        List<String> lines = Files.readAllLines(out);
        assertThat(p.exitValue()).as("exit code; stderr in " + err.toAbsolutePath() + "; stdout " + lines).isZero();
        return lines;
    }

    private static String probeLine(List<String> lines) {
        return lines.stream().filter(l -> l.startsWith("probe ")).findFirst()
                .orElseThrow(() -> new AssertionError("no probe line in " + lines));
    }

    /** A user's application jar: the classes under the given packages of the test classes (no Stoker classes). */
    private static Path appJar(Path dir, String... packages) throws Exception {
        Path classes = Path.of(SubmitProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path jar = dir.resolve("app.jar");
        try (JarOutputStream j = new JarOutputStream(Files.newOutputStream(jar))) {
            for (String pkg : packages) {
                try (Stream<Path> files = Files.list(classes.resolve(pkg))) {
                    for (Path f : (Iterable<Path>) files.sorted()::iterator) {
                        j.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                        j.write(Files.readAllBytes(f));
                        j.closeEntry();
                    }
                }
            }
        }
        return jar;
    }
}
