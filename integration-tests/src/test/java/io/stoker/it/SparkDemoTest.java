package io.stoker.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.stoker.examples.spark.SparkDemo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Iterator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The demo job (what {@code bin/stoker demo --master ... --json} runs): its JSON comes from Stoker's own metrics. */
class SparkDemoTest {
    static JsonNode runDemo(String... args) throws Exception {
        return MainOutput.lastJsonLine(SparkDemo::run, args);
    }

    @Test
    @Timeout(180)
    void shouldConstructEachActorOncePerExecutorAcrossThreeJobsOnLocalCluster() throws Exception {
        Clusters.fakeSparkHome();
        JsonNode o = runDemo("--master", Clusters.LOCAL_CLUSTER, "--json", "--rows", "16000", "--partitions", "8",
                "--jobs", "3", "--batch-rows", "500");
        assertThat(o.get("rows_in").asLong()).isEqualTo(48_000);
        assertThat(o.get("rows_out").asLong()).isEqualTo(48_000);
        JsonNode execs = o.get("executors");
        long tasks = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = execs.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(e.getKey()).as("an executor JVM, not the driver").isNotEqualTo("driver");
            JsonNode x = e.getValue();
            tasks += x.get("tasks").asLong();
            if (x.get("tasks").asLong() > 0) {
                // Two pools (tokenizer, scorer) of one actor each, built once for all jobs, stages and tasks.
                assertThat(x.get("actor_inits").asLong()).as("executor " + e.getKey()).isEqualTo(2);
                assertThat(x.get("actors").size()).isEqualTo(2);
            }
        }
        assertThat(tasks).isEqualTo(24);
        assertThat(execs.size()).isEqualTo(2);
    }

    @Test
    @Timeout(120)
    void shouldRunDemoInLocalMode() throws Exception {
        JsonNode o = runDemo("--master", "local[2]", "--json", "--rows", "5000", "--partitions", "4", "--jobs", "3");
        assertThat(o.get("rows_out").asLong()).isEqualTo(15_000);
        assertThat(o.get("executors").get("driver").get("actor_inits").asLong()).isEqualTo(2);
        assertThat(o.get("executors").get("driver").get("tasks").asLong()).isEqualTo(12);
    }
}
