package io.stoker.spark.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stoker.spark.testing.LocalSpark;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code df.write.format("openai-batch")} on local[2], without a model: results made with SQL expressions in place of
 * llmMap's columns, so the test checks the output format, order and save modes alone.
 */
@Timeout(120)
class OpenAiBatchWriteTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static SparkSession spark;
    private static Path dir;
    private static Path requests;

    @BeforeAll
    static void start() throws IOException {
        spark = LocalSpark.start("OpenAiBatchWriteTest", Map.of());
        dir = Files.createDirectories(Path.of("target", "openai-batch-write").toAbsolutePath());
        List<String> lines = new ArrayList<>();
        for (int i = 1; i <= 40; i++) {
            lines.add(switch (i % 10) {
                case 3 -> "{\"custom_id\": \"r" + i + "\", \"method\": \"POST\", \"url\": \"/v1/embeddings\","
                        + " \"body\": {}}";
                case 5 -> Requests.chat("r" + i, "q", "\"top_p\": \"high\"");
                case 7 -> Requests.completion("r" + i, "p" + i, "");
                case 9 -> "{\"custom_id\": \"r" + i + "\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\","
                        + " \"body\": {\"messages\": [{\"role\": \"user\", \"content\": \"no model\"}]}}";
                default -> Requests.chat("r" + i, "question " + i, "");
            });
        }
        requests = Requests.write(dir.resolve("requests.jsonl"), lines);
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    @BeforeEach
    void activeSession() {
        SparkSession.setActiveSession(spark);
    }

    /** What llmMap would add: an answer for good rows, an error for every 4th line, scrambled partitions. */
    private static Dataset<Row> results() {
        return spark.read().format("openai-batch").load(requests.toString()).selectExpr("*",
                "CASE WHEN line % 4 = 0 THEN NULL ELSE concat('answer to ', custom_id) END AS generated_text",
                "CASE WHEN line % 4 = 0 THEN 'error' ELSE 'length' END AS finish_reason",
                "CAST(line AS INT) AS num_input_tokens", "2 AS num_generated_tokens",
                "CASE WHEN line % 4 = 0 THEN 'prompt is too long' END AS error").repartition(3);
    }

    private static List<JsonNode> readOutput(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(file)) {
            out.add(JSON.readTree(l));
        }
        return out;
    }

    @Test
    void shouldWriteOneFileOfOpenAiOutputLinesInInputOrder() throws IOException {
        Path out = dir.resolve("results.jsonl");
        Files.deleteIfExists(out);
        Dataset<Row> results = results();
        assertThat(results.rdd().getNumPartitions()).isEqualTo(3);
        results.write().format("openai-batch").option("model", "served-name").save(out.toString());
        List<JsonNode> lines = readOutput(out);
        assertThat(lines).hasSize(40);
        for (int i = 1; i <= 40; i++) {
            JsonNode l = lines.get(i - 1);
            assertThat(l.get("custom_id").asText()).as("line " + i + " in input order").isEqualTo("r" + i);
            assertThat(l.get("id").asText()).startsWith("batch_req_").hasSize(10 + 32);
            JsonNode response = l.get("response");
            if (i % 10 == 3) { // not a request: OpenAI's per-line error object, no response
                assertThat(response.isNull()).isTrue();
                assertThat(l.get("error").get("code").asText()).isEqualTo("invalid_request_line");
                assertThat(l.get("error").get("message").asText()).contains("line " + i + " of ")
                        .contains("url \"/v1/embeddings\" is not supported");
                continue;
            }
            assertThat(l.get("error").isNull()).as("error is null when there is a response").isTrue();
            assertThat(response.get("request_id").asText()).startsWith("req_");
            JsonNode body = response.get("body");
            if (i % 10 == 5 || i % 4 == 0) { // an invalid body, or a row error from the model: status 400
                assertThat(response.get("status_code").asInt()).isEqualTo(400);
                JsonNode e = body.get("error");
                assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
                assertThat(e.has("param")).isTrue();
                assertThat(e.get("message").asText()).contains(i % 10 == 5 ? "body.top_p must be a number"
                        : "prompt is too long");
                continue;
            }
            assertThat(response.get("status_code").asInt()).isEqualTo(200);
            boolean chat = i % 10 != 7;
            assertThat(body.get("object").asText()).isEqualTo(chat ? "chat.completion" : "text_completion");
            assertThat(body.get("id").asText()).startsWith(chat ? "chatcmpl-" : "cmpl-");
            assertThat(body.get("model").asText()).isEqualTo(i % 10 == 9 ? "served-name" : "tiny");
            assertThat(body.get("created").asLong()).isGreaterThan(1_600_000_000L);
            JsonNode choice = body.get("choices").get(0);
            assertThat(choice.get("index").asInt()).isZero();
            assertThat(chat ? choice.get("message").get("content").asText() : choice.get("text").asText())
                    .isEqualTo("answer to r" + i);
            if (chat) {
                assertThat(choice.get("message").get("role").asText()).isEqualTo("assistant");
            }
            assertThat(choice.get("finish_reason").asText()).isEqualTo("length");
            assertThat(choice.has("logprobs")).isTrue();
            JsonNode usage = body.get("usage");
            assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(i);
            assertThat(usage.get("completion_tokens").asInt()).isEqualTo(2);
            assertThat(usage.get("total_tokens").asInt()).isEqualTo(i + 2);
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.filter(Files::isRegularFile).map(p -> p.getFileName().toString()))
                    .as("no work files, no checksum files")
                    .containsExactlyInAnyOrder("requests.jsonl", "results.jsonl");
        }
    }

    @Test
    void shouldHonourSaveModes() throws IOException {
        Path out = dir.resolve("modes").resolve("out.jsonl");
        Files.createDirectories(out.getParent());
        Files.writeString(out, "{\"old\": true}\n");
        Dataset<Row> few = results().filter("line <= 3");
        assertThatThrownBy(() -> few.write().format("openai-batch").save(out.toString()))
                .hasMessageContaining("already exists").hasMessageContaining("mode(\"overwrite\")");
        few.write().format("openai-batch").mode("ignore").save(out.toString());
        assertThat(Files.readAllLines(out)).containsExactly("{\"old\": true}");
        few.write().format("openai-batch").mode("append").save(out.toString());
        List<String> appended = Files.readAllLines(out);
        assertThat(appended).hasSize(4).startsWith("{\"old\": true}");
        assertThat(appended.get(1)).contains("\"custom_id\":\"r1\"");
        few.write().format("openai-batch").mode("overwrite").save(out.toString());
        assertThat(readOutput(out)).extracting(n -> n.get("custom_id").asText()).containsExactly("r1", "r2", "r3");
        assertThatThrownBy(() -> few.write().format("openai-batch").mode("overwrite").save(dir.toString()))
                .hasMessageContaining("is a directory");
    }

    @Test
    void shouldNameTheMissingColumnsAndUnknownOptions() {
        Dataset<Row> bare = spark.read().format("openai-batch").load(requests.toString());
        assertThatThrownBy(() -> bare.write().format("openai-batch").save(dir.resolve("x.jsonl").toString()))
                .hasMessageContaining("column generated_text (string) is missing")
                .hasMessageContaining("column error (string) is missing");
        assertThatThrownBy(() -> results().write().format("openai-batch").option("modle", "m")
                .save(dir.resolve("x.jsonl").toString())).hasMessageContaining("unknown [modle]");
    }
}
