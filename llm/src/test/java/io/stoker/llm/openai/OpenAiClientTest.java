package io.stoker.llm.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The client against a real loopback server: wire format, pass-through fields, the API key, failures as data. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OpenAiClientTest {
    static {
        // debug logs of the client go to System.err, where the key test looks for leaks
        System.setProperty("org.slf4j.simpleLogger.log.io.stoker.llm.openai", "debug");
    }

    private static final String KEY = "sk-test-0123456789abcdef";

    @Test
    void shouldSendChatAndCompletionRequestsAndReadTextUsageAndFinishReason() throws Exception {
        try (FaultInjectingServer server = new FaultInjectingServer((k, n) -> FaultInjectingServer.Action.ok());
             OpenAiClient client = OpenAiClient.create(OpenAiClientConfig.builder(server.baseUrl()).build())) {
            OpenAiResult chat = client.send(OpenAiRequest.chat("m", List.of(ChatMessage.user("hi there"))).build())
                    .get(30, TimeUnit.SECONDS);
            assertThat(chat.ok()).as(chat.error()).isTrue();
            assertThat(chat.status()).isEqualTo(200);
            assertThat(chat.text()).isEqualTo("echo:hi there");
            assertThat(chat.finishReason()).isEqualTo("stop");
            assertThat(chat.usage()).isEqualTo(new OpenAiResult.Usage(1, 2, 3));
            assertThat(chat.attempts()).isEqualTo(1);
            assertThat(chat.id()).isEqualTo("test-hi there");
            assertThat(new ObjectMapper().readTree(chat.rawBody()).path("object").asText())
                    .isEqualTo("chat.completion");

            OpenAiResult text = client.send(OpenAiRequest.completion("m", "once upon").build())
                    .get(30, TimeUnit.SECONDS);
            assertThat(text.text()).isEqualTo("echo:once upon");
            assertThat(server.attempts().get("once upon")).hasSize(1);
        }
    }

    @Test
    void shouldPassEveryRequestFieldThroughUnchanged() throws Exception {
        try (FaultInjectingServer server = new FaultInjectingServer((k, n) -> FaultInjectingServer.Action.ok());
             OpenAiClient client = OpenAiClient.create(OpenAiClientConfig.builder(server.baseUrl()).build())) {
            ObjectMapper m = new ObjectMapper();
            JsonNode schema = m.readTree("{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"a\",\"schema\":"
                    + "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"}}}}}");
            OpenAiRequest req = OpenAiRequest.chat("my-model", List.of(ChatMessage.system("be brief"),
                            ChatMessage.user("q1")))
                    .temperature(0.7).topP(0.9).maxTokens(12).n(3).seed(42).stop(List.of("\n", "END"))
                    .responseFormat(schema)
                    .field("logprobs", true).field("top_logprobs", 5)
                    .fields(Map.of("top_k", 20, "repetition_penalty", 1.1, "metadata", Map.of("row", "7")))
                    .build();
            client.send(req).get(30, TimeUnit.SECONDS);
            JsonNode body = server.body("be brief");
            assertThat(body).isEqualTo(m.readTree(m.writeValueAsString(req.body())));
            assertThat(body.path("model").asText()).isEqualTo("my-model");
            assertThat(body.path("messages").size()).isEqualTo(2);
            assertThat(body.path("response_format")).isEqualTo(schema);
            assertThat(body.path("n").asInt()).isEqualTo(3);
            assertThat(body.path("seed").asLong()).isEqualTo(42);
            assertThat(body.path("top_k").asInt()).isEqualTo(20);
            assertThat(body.path("metadata").path("row").asText()).isEqualTo("7");
            assertThat(body.path("logprobs").asBoolean()).isTrue();
        }
    }

    @Test
    void shouldSendTheKeyOnlyInTheHeaderAndKeepItOutOfStringsLogsAndErrors() throws Exception {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try (FaultInjectingServer server = new FaultInjectingServer((k, n) -> k.equals("bad")
                ? FaultInjectingServer.Action.status(401, "Incorrect API key provided: " + KEY, Map.of())
                : n == 1 ? FaultInjectingServer.Action.status(503, "overloaded, key " + KEY, Map.of())
                : FaultInjectingServer.Action.ok());
             OpenAiClient client = OpenAiClient.create(OpenAiClientConfig.builder(server.baseUrl()).apiKey(KEY)
                     .initialBackoff(Duration.ofMillis(10)).build())) {
            OpenAiResult ok = client.send(OpenAiRequest.completion("m", "good").build()).get(30, TimeUnit.SECONDS);
            assertThat(ok.ok()).isTrue();
            assertThat(ok.attempts()).isEqualTo(2);
            OpenAiResult bad = client.send(OpenAiRequest.completion("m", "bad").build()).get(30, TimeUnit.SECONDS);
            assertThat(server.attempts().get("good")).extracting(FaultInjectingServer.Attempt::authorization)
                    .containsOnly("Bearer " + KEY);

            assertThat(bad.ok()).isFalse();
            assertThat(bad.failure()).isEqualTo(OpenAiResult.Failure.HTTP_STATUS);
            assertThat(bad.status()).isEqualTo(401);
            assertThat(bad.attempts()).as("401 is not retried").isEqualTo(1);
            assertThat(bad.error()).contains("401").contains("Incorrect API key provided: ***").doesNotContain(KEY);
            assertThat(bad.rawBody()).doesNotContain(KEY);
            assertThat(client.config().toString()).doesNotContain(KEY).contains("apiKey=***");
            assertThat(client.toString()).doesNotContain(KEY);
            assertThat(OpenAiRequest.completion("m", "x").build().toString()).doesNotContain(KEY);
        } finally {
            System.setErr(err);
        }
        String logs = captured.toString(StandardCharsets.UTF_8);
        assertThat(logs).as("the client logged its retry and failure").contains("retry 1/6").contains("HTTP 401");
        assertThat(logs).doesNotContain(KEY);
    }

    @Test
    void shouldReadAnAzureStyleKeyHeaderAndKeepTheBaseUrlQuery() throws Exception {
        try (FaultInjectingServer server = new FaultInjectingServer((k, n) -> FaultInjectingServer.Action.ok());
             OpenAiClient client = OpenAiClient.create(OpenAiClientConfig
                     .builder(server.baseUrl() + "?api-version=2024-10-21").apiKey(KEY).apiKeyHeader("api-key")
                     .build())) {
            OpenAiResult r = client.send(OpenAiRequest.chat("m", List.of(ChatMessage.user("az"))).build())
                    .get(30, TimeUnit.SECONDS);
            assertThat(r.ok()).as(r.error()).isTrue();
            assertThat(server.attempts().get("az").get(0).authorization()).as("no Authorization header").isNull();
            assertThat(server.attempts().get("az").get(0).path())
                    .isEqualTo("/v1/chat/completions?api-version=2024-10-21");
        }
    }

    @Test
    void shouldReportAnInvalidResponseAndAConnectionRefusedAsFailures() throws Exception {
        int deadPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            deadPort = s.getLocalPort();
        }
        try (OpenAiClient client = OpenAiClient.create(OpenAiClientConfig.builder("http://127.0.0.1:" + deadPort
                + "/v1").maxRetries(2).initialBackoff(Duration.ofMillis(5)).build())) {
            OpenAiResult r = client.send(OpenAiRequest.completion("m", "x").build()).get(30, TimeUnit.SECONDS);
            assertThat(r.failure()).isEqualTo(OpenAiResult.Failure.RETRIES_EXHAUSTED);
            assertThat(r.attempts()).isEqualTo(3);
            assertThat(r.status()).isZero();
            assertThat(r.error()).contains("gave up after 3 attempts").contains("connection error");
        }
    }

    @Test
    void shouldRejectBadOptionsNamingThem() {
        assertThatThrownBy(() -> OpenAiClientConfig.builder("ftp://x/v1").build())
                .hasMessageContaining("baseUrl=ftp://x/v1");
        assertThatThrownBy(() -> OpenAiClientConfig.builder("http://x/v1").maxConcurrentRequests(0).build())
                .hasMessageContaining("maxConcurrentRequests=0");
        assertThatThrownBy(() -> OpenAiClientConfig.builder("http://x/v1").requestsPerSecond(-1).build())
                .hasMessageContaining("requestsPerSecond=-1");
        assertThatThrownBy(() -> OpenAiClientConfig.builder("http://x/v1").apiKeyFromEnv("STOKER_SURELY_UNSET_VAR"))
                .hasMessageContaining("STOKER_SURELY_UNSET_VAR");
        assertThatThrownBy(() -> OpenAiClientConfig.builder("http://u:" + KEY + "@x y/v1").build())
                .hasMessageNotContaining(KEY);
        assertThat(OpenAiClientConfig.builder("http://u:" + KEY + "@host/v1").build().toString())
                .doesNotContain(KEY);
    }
}
