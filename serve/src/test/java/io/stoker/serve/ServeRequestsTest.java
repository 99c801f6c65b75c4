package io.stoker.serve;

import com.fasterxml.jackson.databind.JsonNode;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.sample.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Request handling over real HTTP: OpenAI-style 400s naming the field, 404/405/413, the API key, health and models,
 * the bounded queue (429), stop strings while streaming, several choices and prompts, both logprobs formats.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ServeRequestsTest {
    private static ServeFixture fx;

    @BeforeAll
    static void start() {
        fx = new ServeFixture(ServeFixture.engineConfig(), c -> c.withMaxBodyBytes(64 << 10));
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    private static Http.Reply chat(String body) throws Exception {
        return Http.post(fx.baseUrl() + "/chat/completions", body);
    }

    private static Http.Reply completions(String body) throws Exception {
        return Http.post(fx.baseUrl() + "/completions", body);
    }

    private static void assertError(Http.Reply r, int status, String param, String messagePart) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        JsonNode e = r.json().path("error");
        assertThat(e.path("type").isTextual()).isTrue();
        if (param == null) {
            assertThat(e.path("param").isNull()).as(r.body()).isTrue();
        } else {
            assertThat(e.path("param").asText()).as(r.body()).isEqualTo(param);
        }
        assertThat(e.path("message").asText()).contains(messagePart);
    }

    @Test
    void shouldAnswerBadRequestsWith400NamingTheField() throws Exception {
        String msgs = "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]";
        assertError(chat("{\"model\": \"stoker-test\", " + msgs + ", \"temperature\": \"hot\"}"), 400, "temperature",
                "'temperature' must be a number");
        assertError(chat("{\"model\": \"stoker-test\", " + msgs + ", \"temperature\": 3}"), 400, "temperature",
                "must be in [0, 2]");
        assertError(chat("{\"model\": \"stoker-test\", " + msgs + ", \"n\": 100}"), 400, "n", "in [1, 16]");
        assertError(chat("{\"model\": \"stoker-test\", " + msgs + ", \"max_tokens\": 0}"), 400, "max_tokens", ">= 1");
        assertError(chat("{\"model\": \"stoker-test\"}"), 400, "messages", "'messages' is required");
        assertError(chat("{\"model\": \"stoker-test\", \"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}"),
                400, "messages[0].role", "must be one of");
        assertError(chat("{\"model\": \"stoker-test\", \"messages\": [{\"role\": \"user\", \"content\": 5}]}"),
                400, "messages[0].content", "must be a string");
        assertError(chat("{\"model\": \"stoker-test\", " + msgs + ", \"top_logprobs\": 2}"), 400, "top_logprobs",
                "needs \"logprobs\": true");
        assertError(chat("{\"model\": \"stoker-test\", " + msgs + ", \"tools\": [{\"type\": \"function\"}]}"), 400,
                "tools", "not supported");
        assertError(chat("{\"model\": \"stoker-test\", " + msgs + ", \"response_format\": {\"type\":"
                + " \"json_schema\"}}"), 400, "response_format", "'json_schema' is not supported");
        assertError(chat("{\"model\": \"stoker-test\", " + msgs + ", \"stream\": \"yes\"}"), 400, "stream",
                "true or false");
        assertError(chat("{\"model\": \"stoker-test\", " + msgs + ", \"max_tokens\": 100000}"), 400, "max_tokens",
                "maximum context length is 512");
        assertError(chat("{not json"), 400, null, "not valid JSON");
        assertError(chat("[1, 2]"), 400, null, "must be a JSON object");
        assertError(completions("{\"model\": \"stoker-test\", \"prompt\": [1, \"a\"]}"), 400, "prompt",
                "must be a token id");
        assertError(completions("{\"model\": \"stoker-test\", \"prompt\": [[1, 2], [99999]]}"), 400, "prompt[1]",
                "outside the vocabulary");
        assertError(completions("{\"model\": \"stoker-test\", \"prompt\": \"" + "word ".repeat(600) + "\"}"), 400,
                "prompt", "maximum context length is 512");
        assertError(completions("{\"model\": \"stoker-test\", \"prompt\": \"x\", \"echo\": true}"), 400, "echo",
                "not supported");
        assertThat(chat("{\"model\": \"stoker-test\", " + msgs + ", \"max_tokens\": 2, \"some_new_field\": 1}")
                .status()).as("unknown fields are ignored").isEqualTo(200);
    }

    @Test
    void shouldAnswerUnknownModelsRoutesMethodsAndHugeBodies() throws Exception {
        Http.Reply r = chat("{\"model\": \"gpt-4o\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
        assertError(r, 404, "model", "The model 'gpt-4o' does not exist; this server serves 'stoker-test'");
        assertThat(r.json().path("error").path("code").asText()).isEqualTo("model_not_found");
        assertError(Http.get(fx.baseUrl() + "/embeddings"), 404, null, "no route GET /v1/embeddings");
        assertError(Http.get(fx.baseUrl() + "/chat/completions"), 405, null, "takes [POST]");
        Http.Reply big = completions("{\"model\": \"stoker-test\", \"prompt\": \"" + "x".repeat(100_000) + "\"}");
        assertThat(big.status()).isEqualTo(413);
    }

    @Test
    void shouldReportHealthModelsAndPrometheusMetrics() throws Exception {
        Http.Reply h = Http.get(fx.root() + "/health");
        assertThat(h.status()).isEqualTo(200);
        assertThat(h.json().path("status").asText()).isEqualTo("ok");
        JsonNode m = Http.get(fx.baseUrl() + "/models").json();
        assertThat(m.path("data").path(0).path("id").asText()).isEqualTo("stoker-test");
        assertThat(m.path("data").path(0).path("max_model_len").asInt()).isEqualTo(512);
        completions("{\"model\": \"stoker-test\", \"prompt\": \"metrics please\", \"max_tokens\": 3}");
        Http.Reply met = Http.get(fx.root() + "/metrics");
        assertThat(met.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
        assertThat(met.body()).contains("# TYPE stoker_serve_http_requests_total counter")
                .contains("stoker_serve_http_requests_total{route=\"/v1/completions\",status=\"200\"}")
                .contains("# TYPE stoker_serve_time_to_first_token_seconds histogram")
                .contains("stoker_serve_time_to_first_token_seconds_bucket{le=\"+Inf\"}")
                .contains("stoker_serve_request_duration_seconds_count")
                .contains("stoker_serve_kv_cache_total_blocks 128.0")
                .contains("stoker_serve_requests_running").contains("stoker_serve_requests_waiting")
                .contains("stoker_serve_generation_tokens_total");
    }

    @Test
    void shouldNeverStreamTextPastAStopString() throws Exception {
        String prompt = "The quick brown fox jumps over the lazy dog.";
        GenerationResult free = fx.engine.submit(GenerationRequest.ofText(prompt, SamplingParams.builder()
                .maxTokens(48).ignoreEos(true).build())).get(60, TimeUnit.SECONDS);
        assertThat(free.text().length()).as("the random model writes something to cut").isGreaterThan(12);
        String stop = free.text().substring(8, 11);
        String cut = free.text().substring(0, free.text().indexOf(stop));
        String body = "{\"model\": \"stoker-test\", \"prompt\": \"" + prompt + "\", \"max_tokens\": 48,"
                + " \"ignore_eos\": true, \"temperature\": 0, \"stop\": " + Http.JSON.writeValueAsString(stop);
        Http.Reply whole = completions(body + "}");
        assertThat(whole.json().path("choices").path(0).path("text").asText()).isEqualTo(cut);
        assertThat(whole.json().path("choices").path(0).path("finish_reason").asText()).isEqualTo("stop");
        Http.Reply streamed = completions(body + ", \"stream\": true}");
        assertThat(Http.streamedText(streamed.events(), false, 0)).isEqualTo(cut);
        for (String e : streamed.events()) {
            if (!e.equals("[DONE]")) {
                assertThat(Http.JSON.readTree(e).path("choices").path(0).path("text").asText()).doesNotContain(stop);
            }
        }
    }

    @Test
    void shouldGenerateNChoicesPerPromptAndOneSetPerPrompt() throws Exception {
        String body = "{\"model\": \"stoker-test\", \"prompt\": [\"Hello world\", \"The answer is\"], \"n\": 2,"
                + " \"max_tokens\": 6, \"temperature\": 1.0, \"seed\": 11}";
        JsonNode a = completions(body).json();
        JsonNode b = completions(body).json();
        assertThat(a.path("choices").size()).isEqualTo(4);
        assertThat(a.path("choices")).isEqualTo(b.path("choices")).as("a seed makes choices reproducible");
        for (int i = 0; i < 4; i++) {
            assertThat(a.path("choices").path(i).path("index").asInt()).isEqualTo(i);
        }
        GenerationResult first = fx.engine.submit(GenerationRequest.ofText("The answer is", SamplingParams.builder()
                .maxTokens(6).temperature(1.0).seed(11L).build())).get(60, TimeUnit.SECONDS);
        assertThat(a.path("choices").path(2).path("text").asText()).as("prompt 1, choice 0 uses seed 11")
                .isEqualTo(first.text());
        int prompts = fx.model.tokenizer().encode("Hello world", true).length
                + fx.model.tokenizer().encode("The answer is", true).length;
        assertThat(a.path("usage").path("prompt_tokens").asInt()).isEqualTo(prompts);

        Http.Reply s = chat("{\"model\": \"stoker-test\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],"
                + " \"n\": 3, \"max_tokens\": 5, \"stream\": true, \"stream_options\": {\"include_usage\": true}}");
        List<String> ev = s.events();
        long finishes = ev.stream().filter(e -> e.contains("\"finish_reason\":\"")).count();
        assertThat(finishes).isEqualTo(3);
        JsonNode usage = Http.JSON.readTree(ev.get(ev.size() - 2));
        assertThat(usage.path("choices").size()).isZero();
        assertThat(usage.path("usage").path("completion_tokens").asInt()).isBetween(3, 15);
    }

    @Test
    void shouldReportLogprobsInTheCompletionsFormat() throws Exception {
        JsonNode r = completions("{\"model\": \"stoker-test\", \"prompt\": [5, 6, 7], \"max_tokens\": 5,"
                + " \"temperature\": 0, \"logprobs\": 2}").json();
        JsonNode lp = r.path("choices").path(0).path("logprobs");
        int n = r.path("usage").path("completion_tokens").asInt();
        assertThat(lp.path("tokens").size()).isEqualTo(n);
        assertThat(lp.path("token_logprobs").size()).isEqualTo(n);
        assertThat(lp.path("text_offset").size()).isEqualTo(n);
        assertThat(lp.path("top_logprobs").path(0).size()).isBetween(1, 2);
        assertThat(lp.path("token_logprobs").path(0).asDouble()).isLessThanOrEqualTo(0);
        assertThat(r.path("usage").path("prompt_tokens").asInt()).isEqualTo(3);

        Http.Reply s = chat("{\"model\": \"stoker-test\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],"
                + " \"max_tokens\": 6, \"temperature\": 0, \"ignore_eos\": true, \"logprobs\": true,"
                + " \"stream\": true}");
        long entries = 0;
        for (String e : s.events()) {
            if (!e.equals("[DONE]")) {
                entries += Http.JSON.readTree(e).path("choices").path(0).path("logprobs").path("content").size();
            }
        }
        assertThat(entries).as("one streamed logprob per generated token").isEqualTo(6);
    }

    @Test
    void shouldRefuseWith429WhenThePendingQueueIsFull() throws Exception {
        // The engine's loop is not started yet, so admitted requests stay pending until the test starts it.
        try (ServeFixture small = new ServeFixture(ServeFixture.engineConfig(), c -> c.withMaxPending(2), false);
             Socket hog = new Socket(InetAddress.getLoopbackAddress(), small.server.port())) {
            String late = "{\"model\": \"stoker-test\", \"prompt\": \"late\", \"max_tokens\": 2}";
            assertError(Http.post(small.baseUrl() + "/completions", "{\"model\": \"stoker-test\", \"prompt\": \"x\","
                    + " \"n\": 3}"), 429, null, "limit of 2 pending generations");
            byte[] b = "{\"model\": \"stoker-test\", \"prompt\": \"hog\", \"n\": 2, \"stream\": true}"
                    .getBytes(StandardCharsets.UTF_8);
            OutputStream out = hog.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + b.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(b);
            out.flush();
            InputStream in = hog.getInputStream();
            assertThat(in.read()).as("the hog's stream started").isPositive();
            assertThat(small.server.admitted()).isEqualTo(2);
            Http.Reply r = Http.post(small.baseUrl() + "/completions", late);
            assertError(r, 429, null, "limit of 2 pending generations");
            assertThat(r.headers().firstValue("retry-after")).hasValue("1");
            hog.close();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (small.server.admitted() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(small.server.admitted()).as("the hog's generations were cancelled when it hung up").isZero();
            small.engine.start();
            assertThat(Http.post(small.baseUrl() + "/completions", late).status()).isEqualTo(200);
        }
    }

    @Test
    void shouldAnswer503AndUnhealthyWhenTheEngineIsGone() throws Exception {
        try (ServeFixture f = new ServeFixture()) {
            f.engine.close();
            Http.Reply r = Http.post(f.baseUrl() + "/completions",
                    "{\"model\": \"stoker-test\", \"prompt\": \"x\", \"max_tokens\": 2}");
            assertError(r, 503, null, "engine cannot take requests");
            assertThat(Http.get(f.root() + "/health").status()).isEqualTo(503);
        }
    }
}
