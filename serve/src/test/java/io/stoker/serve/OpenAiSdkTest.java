package io.stoker.serve;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.tokenizer.ChatTemplate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The official OpenAI Java SDK (com.openai:openai-java) against {@code stoker serve}: chat and text completions,
 * whole and streamed, validated by the SDK's own schema checks; greedy output equals the engine's direct output.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OpenAiSdkTest {
    private static final String KEY = "sk-serve-test-key";
    private static ServeFixture fx;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        fx = new ServeFixture(ServeFixture.engineConfig(), c -> c.withApiKey(ApiKey.of(KEY)));
        client = OpenAIOkHttpClient.builder().baseUrl(fx.baseUrl()).apiKey(KEY).maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        fx.close();
    }

    private static GenerationResult direct(GenerationRequest r) throws Exception {
        return fx.engine.submit(r).get(60, TimeUnit.SECONDS);
    }

    @Test
    void shouldAnswerChatCompletionsWithTheEnginesGreedyOutput() throws Exception {
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model(ServeFixture.MODEL).addSystemMessage("Be brief.").addUserMessage("Hello world! How are you?")
                .maxCompletionTokens(24).temperature(0.0).build()).validate();
        GenerationResult want = direct(GenerationRequest.ofChat(List.of(new ChatTemplate.Message("system",
                "Be brief."), new ChatTemplate.Message("user", "Hello world! How are you?")),
                SamplingParams.greedy(24)));
        assertThat(c.choices()).hasSize(1);
        assertThat(c.choices().get(0).message().content()).contains(want.text());
        assertThat(c.choices().get(0).finishReason().asString()).isEqualTo(want.finishReason().label());
        assertThat(c.usage().orElseThrow().promptTokens()).isEqualTo(want.promptIds().length);
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(want.tokenIds().length);
        assertThat(c.usage().orElseThrow().totalTokens())
                .isEqualTo(want.promptIds().length + want.tokenIds().length);
        assertThat(c.model()).isEqualTo(ServeFixture.MODEL);
        assertThat(c.id()).startsWith("chatcmpl-");
    }

    @Test
    void shouldStreamChatDeltasThatAddUpToTheWholeAnswer() throws Exception {
        ChatCompletionCreateParams p = ChatCompletionCreateParams.builder().model(ServeFixture.MODEL)
                .addUserMessage("The quick brown fox").maxCompletionTokens(32).temperature(0.0)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        StringBuilder text = new StringBuilder();
        List<String> finish = new ArrayList<>();
        long[] usage = new long[1];
        int chunks = 0;
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(p)) {
            for (ChatCompletionChunk ch : (Iterable<ChatCompletionChunk>) s.stream()::iterator) {
                ch.validate();
                chunks++;
                ch.usage().ifPresent(u -> usage[0] = u.completionTokens());
                for (ChatCompletionChunk.Choice c : ch.choices()) {
                    c.delta().content().ifPresent(text::append);
                    c.finishReason().ifPresent(f -> finish.add(f.asString()));
                }
            }
        }
        GenerationResult want = direct(GenerationRequest.ofChat(List.of(new ChatTemplate.Message("user",
                "The quick brown fox")), SamplingParams.greedy(32)));
        assertThat(text.toString()).isEqualTo(want.text());
        assertThat(finish).containsExactly(want.finishReason().label());
        assertThat(usage[0]).isEqualTo(want.tokenIds().length);
        assertThat(chunks).as("streamed in pieces, not one body").isGreaterThan(3);
    }

    @Test
    void shouldAnswerAndStreamTextCompletionsLikeTheEngine() throws Exception {
        String prompt = "Spark executors run the model";
        GenerationResult want = direct(GenerationRequest.ofText(prompt, SamplingParams.greedy(20)));
        Completion c = client.completions().create(CompletionCreateParams.builder().model(ServeFixture.MODEL)
                .prompt(prompt).maxTokens(20).temperature(0.0).build()).validate();
        assertThat(c.choices().get(0).text()).isEqualTo(want.text());
        assertThat(c.choices().get(0).finishReason().asString()).isEqualTo(want.finishReason().label());
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(want.tokenIds().length);

        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> s = client.completions().createStreaming(CompletionCreateParams.builder()
                .model(ServeFixture.MODEL).prompt(prompt).maxTokens(20).temperature(0.0).build())) {
            // no validate(): the SDK reuses Completion for chunks, whose finish_reason OpenAI sends as null mid-stream
            s.stream().forEach(ch -> ch.choices().forEach(x -> streamed.append(x.text())));
        }
        assertThat(streamed.toString()).isEqualTo(want.text());
    }

    @Test
    void shouldReturnChatLogprobsForEveryGeneratedToken() throws Exception {
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model(ServeFixture.MODEL).addUserMessage("Hello").maxCompletionTokens(8).temperature(0.0)
                .logprobs(true).topLogprobs(3).build()).validate();
        GenerationResult want = direct(GenerationRequest.ofChat(List.of(new ChatTemplate.Message("user", "Hello")),
                SamplingParams.builder().maxTokens(8).logprobs(3).build()));
        var lp = c.choices().get(0).logprobs().orElseThrow().content().orElseThrow();
        assertThat(lp).hasSize(want.tokenIds().length);
        for (int i = 0; i < lp.size(); i++) {
            assertThat(lp.get(i).logprob()).isCloseTo(want.logprobs().get(i).logprob(),
                    org.assertj.core.data.Offset.offset(1e-6));
            assertThat(lp.get(i).topLogprobs()).hasSize(3);
            assertThat(lp.get(i).topLogprobs().get(0).logprob()).isGreaterThanOrEqualTo(lp.get(i).logprob());
            assertThat(lp.get(i).token()).isEqualTo(fx.model.tokenizer().decode(
                    new int[]{want.tokenIds()[i]}, false));
        }
    }

    @Test
    void shouldListTheServedModel() {
        List<Model> models = client.models().list().data();
        assertThat(models).extracting(Model::id).containsExactly(ServeFixture.MODEL);
    }
}
