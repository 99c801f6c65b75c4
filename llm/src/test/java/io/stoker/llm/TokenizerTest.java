package io.stoker.llm;

import io.stoker.llm.tensor.DType;
import io.stoker.llm.tokenizer.ChatTemplate;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** tokenizer.json through DJL, the GGUF-embedded vocabulary, and chat templates through Jinjava. */
class TokenizerTest {
    static final String TEXT = "Hello world! The quick brown fox jumps over the lazy dog. 42 answers; émoji 🚀 too.";

    @Test
    void shouldRoundTripTextAndMergeKnownWords() {
        try (LoadedModel m = ModelLoader.load(TestModels.hf(TestModels.GQA1, DType.F32).toString())) {
            int[] ids = m.tokenizer().encode(TEXT, true);
            assertThat(ids.length).as("merges shorten the text").isLessThan(TEXT.getBytes(
                    java.nio.charset.StandardCharsets.UTF_8).length);
            assertThat(m.tokenizer().decode(ids, true)).isEqualTo(TEXT);
            assertThat(m.tokenizer().encode("<|im_start|>user", false)[0]).as("special token").isEqualTo(1);
            assertThat(m.tokenizer().decode(new int[]{1, 75, 2}, true)).isEqualTo("H");
            assertThat(m.tokenizer().decode(new int[]{1, 75, 2}, false)).isEqualTo("<|im_start|>H<|im_end|>");
        }
    }

    @Test
    void shouldNotTruncateLongPrompts() {
        try (LoadedModel m = ModelLoader.load(TestModels.hf(TestModels.GQA1, DType.F32).toString())) {
            String longText = "x y ".repeat(2000);
            assertThat(m.tokenizer().encode(longText, true).length).isGreaterThan(2000);
        }
    }

    @Test
    void shouldEncodeGgufEmbeddedVocabularyLikeTokenizerJson() {
        try (LoadedModel hf = ModelLoader.load(TestModels.hf(TestModels.GQA1, DType.F32).toString());
             LoadedModel gg = ModelLoader.load(TestModels.gguf(TestModels.GQA1, DType.F32).toString())) {
            assertThat(gg.tokenizer().encode(TEXT, true)).containsExactly(hf.tokenizer().encode(TEXT, true));
            assertThat(gg.tokenizer().decode(hf.tokenizer().encode(TEXT, true), true)).isEqualTo(TEXT);
            assertThat(gg.chatTemplate()).isNotNull();
            assertThat(hf.eosTokenIds()).containsExactly(2);
            // GGUF follows llama.cpp: <|endoftext|> (id 0) also ends generation, by its name
            assertThat(gg.eosTokenIds()).containsExactlyInAnyOrder(2, 0);
        }
    }

    @Test
    void shouldRenderChatTemplateWithGenerationPrompt() {
        try (LoadedModel m = ModelLoader.load(TestModels.hf(TestModels.GQA1, DType.F32).toString())) {
            List<ChatTemplate.Message> msgs = List.of(new ChatTemplate.Message("system", "Be brief."),
                    new ChatTemplate.Message("user", "Hi"));
            assertThat(m.chatTemplate().render(msgs, true)).isEqualTo(
                    "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
            assertThat(m.chatTemplate().render(msgs, false)).doesNotEndWith("assistant\n");
        }
    }

    @Test
    void shouldRenderLlamaStyleTemplateAndRaiseTemplateErrors() {
        String llama2 = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('no system role') }}{% endif %}"
                + "{% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] '"
                + " + message['content'] | trim + ' [/INST]' }}{% else %}{{ ' ' + message['content'] | trim + ' '"
                + " + eos_token }}{% endif %}{% endfor %}";
        ChatTemplate t = new ChatTemplate(llama2, "<s>", "</s>");
        assertThat(t.render(List.of(new ChatTemplate.Message("user", " Hi "),
                new ChatTemplate.Message("assistant", "Hello"), new ChatTemplate.Message("user", "Bye")), true))
                .isEqualTo("<s>[INST] Hi [/INST] Hello </s><s>[INST] Bye [/INST]");
        assertThatThrownBy(() -> t.render(List.of(new ChatTemplate.Message("system", "x")), true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no system role");
    }
}
