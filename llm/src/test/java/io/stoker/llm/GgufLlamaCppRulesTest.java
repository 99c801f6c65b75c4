package io.stoker.llm;

import io.stoker.llm.batch.FinishReason;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.tensor.DType;
import io.stoker.llm.testkit.GgufWriter;
import io.stoker.llm.testkit.RandomModelWriter;
import io.stoker.llm.tokenizer.GgufVocab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * GGUF files behave as in llama.cpp where Hugging Face and llama.cpp differ: BOS when the file has no
 * {@code tokenizer.ggml.add_bos_token}, and end of generation at end-of-turn tokens named in the vocabulary when the
 * file has no eos/eot ids. Written with files that lack those keys.
 */
class GgufLlamaCppRulesTest {
    @TempDir
    Path tmp;

    private LoadedModel write(String name, Consumer<GgufWriter> edit) throws Exception {
        Path f = tmp.resolve(name + ".gguf");
        RandomModelWriter.writeGguf(TestModels.ENGINE, f, DType.F32, edit);
        return ModelLoader.load(f.toString());
    }

    @Test
    void shouldAddBosWithoutTheKeyOnlyForLlama3StylePreTokenizers() throws Exception {
        String text = "Hello world! 42";
        try (LoadedModel gpt2 = write("gpt2", g -> g.remove("tokenizer.ggml.add_bos_token"));
             LoadedModel llama3 = write("llama-bpe", g -> g.remove("tokenizer.ggml.add_bos_token")
                     .putString("tokenizer.ggml.pre", "llama-bpe"));
             LoadedModel keyWins = write("llama-bpe-no-bos", g -> g.putBool("tokenizer.ggml.add_bos_token", false)
                     .putString("tokenizer.ggml.pre", "llama-bpe"))) {
            int[] plain = gpt2.requireTokenizer().encode(text, true);
            assertThat(plain[0]).as("gpt-2 pre-tokenizer: no BOS").isNotEqualTo(0);
            int[] withBos = llama3.requireTokenizer().encode(text, true);
            assertThat(withBos[0]).as("llama-bpe pre-tokenizer: BOS (id 0) first").isEqualTo(0);
            assertThat(keyWins.requireTokenizer().encode(text, true)[0]).as("an explicit false wins").isNotEqualTo(0);
        }
    }

    @Test
    void shouldEndGenerationAtEndOfTurnTokensNamedInTheVocabulary() throws Exception {
        // the first generated tokens of a free run; then the same file with the 5th one renamed <|im_end|> and no
        // eos/eot ids: generation must stop right there
        int[] prompt = LlmEngineTest.prompt(6, 3);
        int[] free;
        try (LoadedModel m = write("free", g -> { })) {
            free = run(m, prompt, true).tokenIds();
        }
        int target = free[4];
        int first = 0;
        while (free[first] != target) {
            first++;
        }
        List<String> tokens = new ArrayList<>(RandomModelWriter.vocab(TestModels.ENGINE.vocab()).tokens);
        tokens.set(2, "<|im_end_unused|>");
        tokens.set(target, "<|im_end|>");
        try (LoadedModel m = write("eot-by-name", g -> g.remove("tokenizer.ggml.eos_token_id")
                .putStrings("tokenizer.ggml.tokens", tokens))) {
            assertThat(m.eosTokenIds()).contains(target, 0).doesNotContain(1, 2); // <|endoftext|> is id 0
            GenerationResult r = run(m, prompt, false);
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(r.tokenIds()).hasSize(first + 1).endsWith(target);
        }
    }

    @Test
    void shouldFollowLlamaCppsEndOfGenerationList() {
        Map<String, Object> harmony = Map.of("tokenizer.ggml.tokens",
                List.of("a", "<|end|>", "<|return|>", "<|call|>", "<|start|>"), "tokenizer.ggml.eos_token_id", 0);
        assertThat(GgufVocab.endOfGeneration(harmony)).as("o200k_harmony: <|end|> is not EOG")
                .containsExactlyInAnyOrder(0, 2, 3);
        Map<String, Object> llama3 = Map.of("tokenizer.ggml.tokens",
                List.of("<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|eom_id|>", "x"),
                "tokenizer.ggml.eos_token_id", 1);
        assertThat(GgufVocab.endOfGeneration(llama3)).containsExactlyInAnyOrder(1, 2, 3);
        assertThat(GgufVocab.addsBos(Map.of("tokenizer.ggml.model", "llama"))).as("SentencePiece").isTrue();
        assertThat(GgufVocab.addsBos(Map.of("tokenizer.ggml.model", "gpt2", "tokenizer.ggml.pre", "qwen2")))
                .isFalse();
        assertThat(GgufVocab.addsBos(Map.of("tokenizer.ggml.model", "gpt2", "tokenizer.ggml.pre", "llama3")))
                .isTrue();
    }

    private static GenerationResult run(LoadedModel m, int[] prompt, boolean ignoreEos) throws Exception {
        try (LlmEngine e = LlmEngine.local(m, LlmEngineTest.config())) {
            CompletableFuture<GenerationResult> f = e.submit(GenerationRequest.ofIds(prompt,
                    SamplingParams.builder().maxTokens(12).ignoreEos(ignoreEos).build()));
            e.runUntilIdle();
            return f.get();
        }
    }
}
