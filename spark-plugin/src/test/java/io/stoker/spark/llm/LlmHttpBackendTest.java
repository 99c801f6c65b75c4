package io.stoker.spark.llm;

import com.fasterxml.jackson.databind.JsonNode;
import io.stoker.spark.Stoker;
import io.stoker.spark.testing.LocalSpark;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** llmMap and llm_generate against an OpenAI-compatible server on loopback (local[2]). */
@Timeout(180)
class LlmHttpBackendTest {
    private static SparkSession spark;
    private static FakeOpenAiServer server;

    @BeforeAll
    static void start() throws Exception {
        server = new FakeOpenAiServer();
        spark = LocalSpark.start("LlmHttpBackendTest", Map.of("spark.task.maxFailures", "1"));
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
        if (server != null) {
            server.close();
        }
    }

    @BeforeEach
    void active() {
        SparkSession.setActiveSession(spark);
        server.bodies.clear();
    }

    private static Llm remote() {
        return Llm.openai(server.baseUrl(), "served-model").maxTokens(7).initialBackoffMs(10);
    }

    @Test
    void shouldAnswerEveryRowWithTheSameColumnsAsTheLocalEngine() {
        Dataset<Row> in = spark.range(0, 40, 1, 3).selectExpr("id", "concat('question ', id) AS q");
        Dataset<Row> out = in.transform(Stoker.llm(remote().systemPrompt("Be brief.").returnHttpStatus(true))
                .prompt(col("q")));
        assertThat(out.columns()).containsExactly("id", "q", "generated_text", "num_input_tokens",
                "num_generated_tokens", "finish_reason", "time_to_first_token_ms", "time_taken_ms", "error",
                "http_status");
        List<Row> rows = out.orderBy("id").collectAsList();
        assertThat(rows).hasSize(40);
        for (Row r : rows) {
            String q = r.getString(1);
            assertThat(r.<String>getAs("generated_text")).isEqualTo("echo:" + q);
            assertThat(r.<Integer>getAs("num_input_tokens")).isEqualTo(q.length());
            assertThat(r.<String>getAs("finish_reason")).isEqualTo("stop");
            assertThat(r.<Integer>getAs("http_status")).isEqualTo(200);
            assertThat(r.<String>getAs("error")).isNull();
        }
        assertThat(server.bodies).hasSize(40);
        JsonNode first = server.bodies.get(0);
        assertThat(first.get("model").asText()).isEqualTo("served-model");
        assertThat(first.get("max_tokens").asInt()).isEqualTo(7);
        assertThat(first.get("messages").get(0).get("role").asText()).isEqualTo("system");
        assertThat(first.get("messages").get(0).get("content").asText()).isEqualTo("Be brief.");
        assertThat(first.has("temperature")).as("defaults not set by the call are not sent").isFalse();
    }

    @Test
    void shouldPassPerRowFieldsExtraBodyAndSeedsThrough() {
        Dataset<Row> in = spark.sql("SELECT 1 AS id, 'a' AS q, named_struct('temperature', 0.5D, 'n', 2,"
                + " 'response_format', '{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{}}}',"
                + " 'logprobs', 3, 'seed', 11L, 'top_k', 5) AS params");
        List<Row> rows = in.transform(Stoker.llm(remote().option("extra_body", "{\"user\":\"stoker-test\"}")
                .returnRawResponse(true).logprobs(1)).prompt(col("q")).sampling(col("params"))).collectAsList();
        assertThat(rows).hasSize(1);
        assertThat(rows.get(0).<String>getAs("raw_response")).contains("\"echo:a\"");
        JsonNode b = server.bodies.get(0);
        assertThat(b.get("temperature").asDouble()).isEqualTo(0.5);
        assertThat(b.get("n").asInt()).isEqualTo(2);
        assertThat(b.get("response_format").get("type").asText()).isEqualTo("json_schema");
        assertThat(b.get("logprobs").asBoolean()).isTrue();
        assertThat(b.get("top_logprobs").asInt()).isEqualTo(3);
        assertThat(b.get("seed").asLong()).isEqualTo(11);
        assertThat(b.get("top_k").asInt()).isEqualTo(5);
        assertThat(b.get("user").asText()).isEqualTo("stoker-test");
        // a global seed gives each row a seed derived from its prompt: equal prompts, equal seeds
        server.bodies.clear();
        spark.range(0, 4, 1, 2).selectExpr("id", "concat('p', id % 2) AS q")
                .transform(Stoker.llm(remote().seed(3)).prompt(col("q"))).collectAsList();
        Map<String, Long> seeds = new java.util.HashMap<>();
        for (JsonNode body : server.bodies) {
            String p = body.get("messages").get(0).get("content").asText();
            Long prev = seeds.put(p, body.get("seed").asLong());
            assertThat(prev == null || prev == body.get("seed").asLong()).as("prompt " + p).isTrue();
        }
        assertThat(seeds).hasSize(2);
        assertThat(seeds.get("p0")).isNotEqualTo(seeds.get("p1"));
    }

    @Test
    void shouldRetryTransientFailuresAndReportRefusedRowsAsErrors() {
        Dataset<Row> in = spark.range(0, 30, 1, 3).selectExpr("id",
                "CASE WHEN id % 10 = 3 THEN concat('FAIL400 ', id) WHEN id % 10 = 6 THEN concat('FLAKY ', id)"
                        + " ELSE concat('ok ', id) END AS q");
        List<Row> rows = in.transform(Stoker.llm(remote().returnHttpStatus(true)).prompt(col("q"))).orderBy("id")
                .collectAsList();
        assertThat(rows).hasSize(30);
        for (Row r : rows) {
            long id = r.getLong(0);
            if (id % 10 == 3) {
                assertThat(r.<String>getAs("error")).contains("400").contains("the prompt is not allowed");
                assertThat(r.<Integer>getAs("http_status")).isEqualTo(400);
                assertThat(r.<String>getAs("finish_reason")).isEqualTo("error");
            } else {
                assertThat(r.<String>getAs("error")).as("row " + id).isNull();
                assertThat(r.<String>getAs("generated_text")).isEqualTo("echo:" + r.getString(1));
            }
        }
        assertThatThrownBy(() -> in.transform(Stoker.llm(remote().failOnError(true)).prompt(col("q")))
                .collectAsList()).hasMessageContaining("fail_on_error=true").hasMessageContaining("400");
    }

    @Test
    void shouldServeTheSqlFunctionAndCompletionsEndpoint() {
        spark.range(0, 5).selectExpr("id", "concat('c', id) AS q").createOrReplaceTempView("hq");
        List<Row> rows = spark.sql("SELECT id, llm_generate(q, 'model', 'm2', 'base_url', '" + server.baseUrl()
                + "', 'endpoint', 'completions', 'max_tokens', 3).generated_text AS g FROM hq ORDER BY id")
                .collectAsList();
        assertThat(rows).extracting(r -> r.getString(1)).containsExactly("echo:c0", "echo:c1", "echo:c2", "echo:c3",
                "echo:c4");
        assertThat(server.bodies.get(0).get("prompt").asText()).startsWith("c");
        assertThat(server.bodies.get(0).has("messages")).isFalse();
    }

    @Test
    void shouldRefuseKeysInQueriesAndUnredactedKeyLocations() {
        assertThatThrownBy(() -> remote().option("api_key", "sk-123").spec())
                .hasMessageContaining("'api_key' is not accepted").hasMessageNotContaining("sk-123");
        Dataset<Row> in = spark.range(0, 2).selectExpr("id", "'x' AS q");
        assertThatThrownBy(() -> in.transform(Stoker.llm(remote().apiKeyConf("spark.stoker.openai.key"))
                .prompt(col("q"))).collectAsList())
                .hasMessageContaining("does not redact");
        assertThatThrownBy(() -> in.transform(Stoker.llm(remote().apiKeyEnv("STOKER_TEST_UNSET_KEY_VAR"))
                .prompt(col("q"))).collectAsList())
                .hasMessageContaining("STOKER_TEST_UNSET_KEY_VAR, which is not set");
        assertThatThrownBy(() -> Llm.model("demo").option("endpoint", "chat").spec())
                .hasMessageContaining("'endpoint' applies to an OpenAI-compatible server only");
    }
}
