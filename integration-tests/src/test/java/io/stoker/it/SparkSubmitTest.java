package io.stoker.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stoker.spark.cli.SubmitCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bin/stoker submit}: Spark's SparkSubmit (no Spark installation here) runs the example app jar on a
 * local cluster with the shaded plugin jar passed as {@code --jars}; Stoker's classes come only from that jar.
 */
class SparkSubmitTest {
    @Test
    @Timeout(240)
    void shouldRunExampleAppThroughSparkSubmitWithShadedPluginJar() throws Exception {
        Path jars = Path.of(System.getProperty("stoker.it.submitJars", "target/submit-jars"));
        Path plugin = jars.resolve("stoker-spark-plugin-shaded.jar");
        Path app = jars.resolve("stoker-examples.jar");
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
}
