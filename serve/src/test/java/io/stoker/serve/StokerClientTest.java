package io.stoker.serve;

import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.openai.ChatMessage;
import io.stoker.llm.openai.OpenAiClient;
import io.stoker.llm.openai.OpenAiClientConfig;
import io.stoker.llm.openai.OpenAiRequest;
import io.stoker.llm.openai.OpenAiResult;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.tokenizer.ChatTemplate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Stoker's own HTTP client (the future llmMap backend) against {@code stoker serve}: the two halves agree. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StokerClientTest {
    @Test
    void shouldGetTheEnginesOutputsThroughTheClientWithManyRequestsInFlight() throws Exception {
        try (ServeFixture fx = new ServeFixture(ServeFixture.engineConfig(), c -> c.withApiKey(ApiKey.of("k-1")));
             OpenAiClient client = OpenAiClient.create(OpenAiClientConfig.builder(fx.baseUrl()).apiKey("k-1")
                     .maxConcurrentRequests(8).build())) {
            List<CompletableFuture<OpenAiResult>> fs = new ArrayList<>();
            List<CompletableFuture<GenerationResult>> want = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                String q = "question " + i + ": why is the sky blue?";
                fs.add(client.send(OpenAiRequest.chat(ServeFixture.MODEL, List.of(ChatMessage.user(q)))
                        .maxTokens(12).temperature(0).build()));
                want.add(fx.engine.submit(GenerationRequest.ofChat(List.of(new ChatTemplate.Message("user", q)),
                        SamplingParams.greedy(12))));
            }
            for (int i = 0; i < 16; i++) {
                OpenAiResult r = fs.get(i).get(60, TimeUnit.SECONDS);
                GenerationResult w = want.get(i).get(60, TimeUnit.SECONDS);
                assertThat(r.ok()).as(r.error()).isTrue();
                assertThat(r.text()).isEqualTo(w.text());
                assertThat(r.finishReason()).isEqualTo(w.finishReason().label());
                assertThat(r.usage().completionTokens()).isEqualTo(w.tokenIds().length);
                assertThat(r.usage().promptTokens()).isEqualTo(w.promptIds().length);
            }

            OpenAiResult c = client.send(OpenAiRequest.completion(ServeFixture.MODEL, "Hello").maxTokens(5).n(2)
                    .seed(3).field("logprobs", 2).field("ignore_eos", true).build()).get(60, TimeUnit.SECONDS);
            assertThat(c.choices()).hasSize(2);
            assertThat(c.choices().get(1).index()).isEqualTo(1);
            assertThat(c.choices().get(0).logprobs()).hasSize(5);
            assertThat(c.choices().get(0).logprobs().get(0).top()).hasSizeBetween(1, 2);

            OpenAiResult bad = client.send(OpenAiRequest.chat(ServeFixture.MODEL, List.of(ChatMessage.user("x")))
                    .temperature(9).build()).get(60, TimeUnit.SECONDS);
            assertThat(bad.failure()).isEqualTo(OpenAiResult.Failure.HTTP_STATUS);
            assertThat(bad.status()).isEqualTo(400);
            assertThat(bad.error()).contains("'temperature' is 9");
        }
    }
}
