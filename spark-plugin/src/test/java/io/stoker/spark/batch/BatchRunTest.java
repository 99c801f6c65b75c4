package io.stoker.spark.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stoker.spark.Stoker;
import io.stoker.spark.llm.Llm;
import io.stoker.spark.testing.LocalSpark;
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
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link BatchRun} on local[2] with a tiny random model: answers, per-row sampling, errors, reruns. */
@Timeout(240)
class BatchRunTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static SparkSession spark;
    private static String model;
    private static Path dir;

    @BeforeAll
    static void start() throws IOException {
        model = io.stoker.spark.llm.TinyModels.path();
        spark = LocalSpark.start("BatchRunTest", Map.of("spark.task.maxFailures", "1"));
        dir = Files.createDirectories(Path.of("target", "batch-run").toAbsolutePath());
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

    private static Llm tiny() {
        return Llm.model(model).maxTokens(4).temperature(0);
    }

    private static BatchSpec spec(Path in, Path out, String... served) {
        return BatchSpec.local(in.toString(), out.toString(), tiny(), List.of(served)).withPartitions(3);
    }

    /** @return the output path, with no output or resume directory left from an earlier test run */
    private static Path fresh(String name) throws IOException {
        Path out = dir.resolve(name);
        Files.deleteIfExists(out);
        org.apache.commons.io.FileUtils.deleteDirectory(dir.resolve(name + WorkDir.SUFFIX).toFile());
        return out;
    }

    private static Map<String, JsonNode> byId(Path out) throws IOException {
        Map<String, JsonNode> m = new LinkedHashMap<>();
        for (String l : Files.readAllLines(out)) {
            JsonNode n = JSON.readTree(l);
            assertThat(m.put(n.get("custom_id").asText(), n)).as("custom_id " + n.get("custom_id") + " once")
                    .isNull();
        }
        return m;
    }

    @Test
    void shouldAnswerEveryLineInInputOrderAsLlmMapWouldWithEachRowsSampling() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            String id = "q" + i;
            lines.add(switch (i % 12) {
                case 1 -> Requests.completion(id, "Once upon a time " + i, "\"max_tokens\": 3, \"ignore_eos\": true");
                case 2 -> Requests.chat(id, "question " + i, "\"max_completion_tokens\": " + (1 + i % 5)
                        + ", \"ignore_eos\": true");
                case 3 -> Requests.chat(id, "q", "\"top_p\": 1.5");
                case 4 -> Requests.chat(id, "q", "\"response_format\": {\"type\": \"json_object\"}, \"user\": \"u1\"");
                case 5 -> Requests.chat(id, "q", "").replace("\"model\": \"tiny\"", "\"model\": \"gpt-4o\"");
                case 6 -> "{\"custom_id\": \"" + id + "\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\"";
                default -> Requests.chat(id, "question " + i, "\"user\": \"someone\"");
            });
        }
        Path in = Requests.write(dir.resolve("answer.jsonl"), lines);
        Path out = fresh("answer-results.jsonl");
        List<String> progress = new ArrayList<>();
        BatchSummary s = BatchRun.run(spark, spec(in, out, "tiny"), progress::add);
        assertThat(s.lines()).isEqualTo(60);
        assertThat(s.ranNow()).isEqualTo(60);
        assertThat(s.fromEarlier()).isZero();
        assertThat(s.errors()).isEqualTo(20);
        Map<String, JsonNode> got = byId(out);
        assertThat(new ArrayList<>(got.keySet())).as("input order")
                .isEqualTo(lines.stream().map(l -> l.substring(15, l.indexOf('"', 15))).toList());

        // what llmMap gives for the same requests, read through the data source
        Map<String, String> expected = new HashMap<>();
        for (Row r : spark.read().format("openai-batch").load(in.toString())
                .filter("url = '/v1/chat/completions' AND line_error IS NULL AND body_error IS NULL")
                .transform(Stoker.llm(tiny()).messages(col("messages")).sampling(col("sampling")))
                .select("custom_id", "generated_text").collectAsList()) {
            expected.put(r.getString(0), r.getString(1));
        }
        for (Row r : spark.read().format("openai-batch").load(in.toString()).filter("url = '/v1/completions'")
                .transform(Stoker.llm(tiny().chatTemplate(false)).prompt(col("prompt")).sampling(col("sampling")))
                .select("custom_id", "generated_text").collectAsList()) {
            expected.put(r.getString(0), r.getString(1));
        }
        for (int i = 0; i < 60; i++) {
            JsonNode n = got.get("q" + i);
            JsonNode response = n.get("response");
            switch (i % 12) {
                case 3 -> {
                    assertThat(response.get("status_code").asInt()).isEqualTo(400);
                    assertThat(response.get("body").get("error").get("message").asText()).contains("top_p=1.5");
                }
                case 4 -> assertThat(response.get("body").get("error").get("message").asText())
                        .contains("body.response_format not supported by the local engine")
                        .doesNotContain("body.user");
                case 5 -> {
                    assertThat(response.get("status_code").asInt()).isEqualTo(404);
                    JsonNode e = response.get("body").get("error");
                    assertThat(e.get("code").asText()).isEqualTo("model_not_found");
                    assertThat(e.get("message").asText()).contains("The model `gpt-4o` does not exist");
                }
                case 6 -> {
                    assertThat(response.isNull()).isTrue();
                    assertThat(n.get("error").get("message").asText()).contains("line " + (i + 1) + " of ")
                            .contains("not valid JSON");
                }
                default -> {
                    assertThat(response.get("status_code").asInt()).as("q" + i).isEqualTo(200);
                    JsonNode body = response.get("body");
                    JsonNode choice = body.get("choices").get(0);
                    String text = i % 12 == 1 ? choice.get("text").asText()
                            : choice.get("message").get("content").asText();
                    assertThat(text).as("q" + i + " as llmMap answers it").isEqualTo(expected.get("q" + i));
                    assertThat(body.get("model").asText()).isEqualTo("tiny");
                    int completion = body.get("usage").get("completion_tokens").asInt();
                    if (i % 12 == 1) {
                        assertThat(completion).as("per-row max_tokens with ignore_eos").isEqualTo(3);
                        assertThat(body.get("object").asText()).isEqualTo("text_completion");
                    } else if (i % 12 == 2) {
                        assertThat(completion).as("per-row max_completion_tokens").isEqualTo(1 + i % 5);
                    } else {
                        assertThat(completion).isBetween(1, 4);
                    }
                    assertThat(body.get("usage").get("prompt_tokens").asInt()).isGreaterThan(3);
                }
            }
        }
        assertThat(Files.exists(dir.resolve("answer-results.jsonl.stoker-batch"))).as("work directory removed")
                .isFalse();
    }

    /**
     * With an OpenAI-compatible server (--base-url): each body goes through as is (fields the local engine refuses
     * included), the server's answer is written as it came, and its refusals keep their status and error body.
     */
    @Test
    void shouldSendBodiesToAnOpenAiCompatibleServerAndWriteItsAnswers() throws Exception {
        try (io.stoker.spark.llm.FakeOpenAiServer server = new io.stoker.spark.llm.FakeOpenAiServer()) {
            List<String> lines = List.of(
                    Requests.chat("a", "hello", "\"response_format\": {\"type\": \"json_object\"}, \"user\": \"u1\""),
                    Requests.completion("b", "once", "\"max_tokens\": 2, \"n\": 2"),
                    Requests.chat("c", "FAIL400 please", ""),
                    Requests.chat("d", "FLAKY one", "\"seed\": 4"));
            Path in = Requests.write(dir.resolve("http.jsonl"), lines);
            Path out = fresh("http-results.jsonl");
            BatchSpec spec = BatchArguments.parse(List.of("-i", in.toString(), "-o", out.toString(), "--model", "tiny",
                    "--base-url", server.baseUrl(), "--llm-option", "initial_backoff_ms=10")).spec();
            BatchSummary s = BatchRun.run(spark, spec, null);
            assertThat(s.lines()).isEqualTo(4);
            Map<String, JsonNode> got = byId(out);
            assertThat(got.keySet()).containsExactly("a", "b", "c", "d");
            JsonNode a = got.get("a").get("response");
            assertThat(a.get("status_code").asInt()).isEqualTo(200);
            assertThat(a.get("body").get("choices").get(0).get("message").get("content").asText()).isEqualTo("echo:hello");
            assertThat(got.get("b").get("response").get("body").get("choices").get(0).get("text").asText())
                    .isEqualTo("echo:once");
            JsonNode c = got.get("c").get("response");
            assertThat(c.get("status_code").asInt()).isEqualTo(400);
            assertThat(c.get("body").get("error").get("message").asText()).contains("the prompt is not allowed");
            assertThat(got.get("d").get("response").get("status_code").asInt()).as("retried after a 503").isEqualTo(200);
            JsonNode sentA = server.bodies.stream().filter(b -> b.path("messages").path(0).path("content").asText()
                    .equals("hello")).findFirst().orElseThrow();
            assertThat(sentA.get("response_format").get("type").asText()).isEqualTo("json_object");
            assertThat(sentA.get("user").asText()).isEqualTo("u1");
            JsonNode sentB = server.bodies.stream().filter(b -> b.has("prompt")).findFirst().orElseThrow();
            assertThat(sentB.get("n").asInt()).isEqualTo(2);
            assertThat(sentB.get("max_tokens").asInt()).isEqualTo(2);
        }
    }

    /** A row's seed and temperature reach the engine: same seed, same sample; another seed, another sample. */
    @Test
    void shouldSampleEachRowWithItsOwnSeed() throws IOException {
        String sampled = "\"temperature\": 1.0, \"max_tokens\": 8, \"ignore_eos\": true, \"seed\": ";
        Path in = Requests.write(dir.resolve("seeds.jsonl"), List.of(Requests.chat("a", "same prompt", sampled + 7),
                Requests.chat("b", "same prompt", sampled + 7), Requests.chat("c", "same prompt", sampled + 8),
                Requests.chat("d", "same prompt", sampled + 9), Requests.chat("g", "same prompt", "")));
        Path out = fresh("seeds-results.jsonl");
        BatchRun.run(spark, spec(in, out, "tiny"), null);
        Map<String, String> text = new HashMap<>();
        byId(out).forEach((id, n) -> text.put(id, n.get("response").get("body").get("choices").get(0)
                .get("message").get("content").asText()));
        assertThat(text.get("a")).isEqualTo(text.get("b"));
        assertThat(new java.util.HashSet<>(List.of(text.get("a"), text.get("c"), text.get("d"), text.get("g"))))
                .as("seeds 7, 8, 9 at temperature 1 and the greedy answer differ").hasSizeGreaterThan(2);
    }

    /** A finished output is taken over: its answers stay byte for byte, its errors and new lines are run. */
    @Test
    void shouldKeepEarlierAnswersAndRetryErrorsWhenRerunWithMoreLines() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            lines.add(i % 10 == 4 ? Requests.chat("r" + i, "q" + i, "").replace("\"tiny\"", "\"other\"")
                    : Requests.chat("r" + i, "question " + i, ""));
        }
        Path in = Requests.write(dir.resolve("rerun.jsonl"), lines);
        Path out = fresh("rerun-results.jsonl");
        BatchSummary first = BatchRun.run(spark, spec(in, out, "tiny"), null);
        assertThat(first.ok()).isEqualTo(27);
        Map<String, String> before = new HashMap<>();
        for (String l : Files.readAllLines(out)) {
            before.put(JSON.readTree(l).get("custom_id").asText(), l);
        }
        List<String> more = new ArrayList<>();
        for (int i = 30; i < 40; i++) {
            more.add(Requests.chat("r" + i, "question " + i, ""));
        }
        Files.writeString(in, String.join("\n", more) + "\n", StandardOpenOption.APPEND);

        BatchSummary second = BatchRun.run(spark, spec(in, out, "tiny", "other"), null);
        assertThat(second.fromEarlier()).isEqualTo(27);
        assertThat(second.ranNow()).as("3 errors retried + 10 new lines").isEqualTo(13);
        assertThat(second.lines()).isEqualTo(40);
        assertThat(second.ok()).isEqualTo(40);
        List<String> after = Files.readAllLines(out);
        for (int i = 0; i < 40; i++) {
            JsonNode n = JSON.readTree(after.get(i));
            assertThat(n.get("custom_id").asText()).isEqualTo("r" + i);
            assertThat(n.get("response").get("status_code").asInt()).isEqualTo(200);
            if (i < 30 && i % 10 != 4) {
                assertThat(after.get(i)).as("r" + i + " kept as written").isEqualTo(before.get("r" + i));
            }
        }
        // a third run has nothing to do and rewrites the same file
        BatchSummary third = BatchRun.run(spark, spec(in, out, "tiny", "other"), null);
        assertThat(third.ranNow()).isZero();
        assertThat(Files.readAllLines(out)).isEqualTo(after);
    }

    @Test
    void shouldRefuseDuplicateIdsAndAnOutputOfAnotherInput() throws IOException {
        Path in = Requests.write(dir.resolve("dup.jsonl"), List.of(Requests.chat("a", "x", ""),
                Requests.chat("b", "y", ""), Requests.chat("a", "z", "")));
        Path out = fresh("dup-results.jsonl");
        assertThatThrownBy(() -> BatchRun.run(spark, spec(in, out, "tiny"), null))
                .isInstanceOf(DuplicateCustomIdException.class).hasMessageContaining("'a' is on lines 1, 3");
        assertThat(Files.exists(out)).isFalse();

        Path other = Requests.write(dir.resolve("other.jsonl"), List.of(Requests.chat("x1", "x", "")));
        Path foreignOut = fresh("foreign-results.jsonl");
        BatchRun.run(spark, spec(other, foreignOut, "tiny"), null);
        Path mine = Requests.write(dir.resolve("mine.jsonl"), List.of(Requests.chat("m1", "x", "")));
        assertThatThrownBy(() -> BatchRun.run(spark, spec(mine, foreignOut, "tiny"), null))
                .hasMessageContaining("answers custom_ids the input does not have (e.g. 'x1')")
                .hasMessageContaining("--overwrite");
        BatchSummary replaced = BatchRun.run(spark, spec(mine, foreignOut, "tiny").withOverwrite(true), null);
        assertThat(replaced.lines()).isEqualTo(1);
        assertThat(Files.readString(foreignOut)).contains("\"custom_id\":\"m1\"").doesNotContain("x1");
    }
}
