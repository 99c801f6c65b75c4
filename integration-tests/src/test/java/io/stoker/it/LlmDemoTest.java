package io.stoker.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.stoker.examples.llm.LlmDemo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bin/stoker demo}: the bundled demo model answers its held-out questions over a DataFrame through llmMap, on
 * local Spark and on real executor JVMs; every row comes back, at least 95% exactly right, one model load per executor.
 */
class LlmDemoTest {
    static JsonNode runDemo(String... args) throws Exception {
        return MainOutput.lastJsonLine(LlmDemo::run, args);
    }

    static void assertAnswered(JsonNode o, int rows) {
        assertThat(o.get("rows_in").asLong()).isEqualTo(rows);
        assertThat(o.get("rows_out").asLong()).as("one output row per input row").isEqualTo(rows);
        assertThat(o.get("errors").asLong()).isZero();
        assertThat(o.get("exact_match").asDouble()).as("held-out exact match of the demo model through Spark")
                .isGreaterThanOrEqualTo(0.95);
        assertThat(o.get("generated_tokens").asLong()).isGreaterThanOrEqualTo(rows);
    }

    @Test
    @Timeout(180)
    void shouldAnswerTheHeldOutQuestionsOnLocalSpark() throws Exception {
        Path out = Files.createTempDirectory("llm-demo").resolve("answers.parquet");
        JsonNode o = runDemo("--master", "local[2]", "--json", "--out", out.toString());
        assertAnswered(o, 200);
        assertThat(o.get("engine_loads").get("driver").asLong()).as("one model load for all tasks").isEqualTo(1);
        assertThat(Files.isDirectory(out)).as("answers written as Parquet to --out").isTrue();
    }

    @Test
    @Timeout(300)
    void shouldLoadTheModelOncePerExecutorOnLocalCluster() throws Exception {
        Clusters.fakeSparkHome();
        Path out = Files.createTempDirectory("llm-demo-cluster").resolve("answers.parquet");
        JsonNode o = runDemo("--master", Clusters.LOCAL_CLUSTER, "--json", "--rows", "400", "--partitions", "6",
                "--out", out.toString());
        assertAnswered(o, 400);
        JsonNode loads = o.get("engine_loads");
        assertThat(loads.size()).as("executors that ran the LLM: " + loads).isBetween(1, 2);
        for (Iterator<Map.Entry<String, JsonNode>> it = loads.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(e.getKey()).as("an executor JVM, not the driver").isNotEqualTo("driver");
            assertThat(e.getValue().asLong()).as("model loads on executor " + e.getKey()).isEqualTo(1);
        }
    }

    @Test
    void shouldRefuseBadOptionsWithExitCode2() {
        assertThat(LlmDemo.run(new String[]{"--rows", "0"})).isEqualTo(2);
        assertThat(LlmDemo.run(new String[]{"--colour"})).isEqualTo(2);
    }
}
