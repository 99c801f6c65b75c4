package io.stoker.serve;

import com.fasterxml.jackson.databind.JsonNode;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.tokenizer.ChatTemplate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The {@code curl} binary against {@code stoker serve}: streaming with {@code -N}, whole answers, errors. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CurlTest {
    private static ServeFixture fx;

    @BeforeAll
    static void start() {
        fx = new ServeFixture();
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    /** Runs curl; returns stdout lines as they came, and records when the first data line arrived. */
    private static List<String> curl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "60"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String l; (l = r.readLine()) != null; ) {
                lines.add(l);
            }
        }
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("curl exit status; output %s", lines).isZero();
        return lines;
    }

    @Test
    void shouldStreamChatCompletionsToCurlAsServerSentEvents() throws Exception {
        String body = "{\"model\": \"stoker-test\", \"stream\": true, \"temperature\": 0, \"max_tokens\": 24,"
                + " \"messages\": [{\"role\": \"user\", \"content\": \"Hello world! How are you today?\"}]}";
        List<String> lines = curl("-N", fx.baseUrl() + "/chat/completions", "-H", "Content-Type: application/json",
                "-d", body);
        List<String> data = new ArrayList<>();
        for (String l : lines) {
            if (l.startsWith("data: ")) {
                data.add(l.substring(6));
            } else {
                assertThat(l).as("SSE: only data lines and blank separators").isEmpty();
            }
        }
        assertThat(data.get(data.size() - 1)).isEqualTo("[DONE]");
        JsonNode first = Http.JSON.readTree(data.get(0));
        assertThat(first.path("object").asText()).isEqualTo("chat.completion.chunk");
        assertThat(first.path("choices").path(0).path("delta").path("role").asText()).isEqualTo("assistant");
        JsonNode last = Http.JSON.readTree(data.get(data.size() - 2));
        GenerationResult want = fx.engine.submit(GenerationRequest.ofChat(List.of(new ChatTemplate.Message("user",
                "Hello world! How are you today?")), SamplingParams.greedy(24))).get(60, TimeUnit.SECONDS);
        assertThat(last.path("choices").path(0).path("finish_reason").asText())
                .isEqualTo(want.finishReason().label());
        assertThat(Http.streamedText(data, true, 0)).isEqualTo(want.text());
        assertThat(data).allMatch(d -> d.equals("[DONE]") || d.contains("\"id\":\"chatcmpl-"));
    }

    @Test
    void shouldAnswerCurlWithWholeCompletionsAndOpenAiStyleErrors() throws Exception {
        String out = String.join("\n", curl(fx.baseUrl() + "/completions", "-d",
                "{\"model\": \"stoker-test\", \"prompt\": \"The answer is\", \"max_tokens\": 8, \"temperature\": 0}"));
        JsonNode r = Http.JSON.readTree(out);
        GenerationResult want = fx.engine.submit(GenerationRequest.ofText("The answer is", SamplingParams.greedy(8)))
                .get(60, TimeUnit.SECONDS);
        assertThat(r.path("object").asText()).isEqualTo("text_completion");
        assertThat(r.path("choices").path(0).path("text").asText()).isEqualTo(want.text());
        assertThat(r.path("usage").path("completion_tokens").asInt()).isEqualTo(want.tokenIds().length);

        List<String> err = curl("-w", "\nstatus=%{http_code}", fx.baseUrl() + "/completions", "-d",
                "{\"model\": \"stoker-test\", \"prompt\": \"x\", \"temperature\": \"hot\"}");
        assertThat(err.get(err.size() - 1)).isEqualTo("status=400");
        JsonNode e = Http.JSON.readTree(String.join("\n", err.subList(0, err.size() - 1)));
        assertThat(e.path("error").path("param").asText()).isEqualTo("temperature");
        assertThat(e.path("error").path("type").asText()).isEqualTo("invalid_request_error");
        assertThat(e.path("error").path("message").asText()).contains("'temperature' must be a number");
    }
}
