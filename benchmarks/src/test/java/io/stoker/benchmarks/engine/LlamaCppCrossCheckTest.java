package io.stoker.benchmarks.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.LoadedModel;
import io.stoker.llm.ModelLoader;
import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.sample.TokenLogprobs;
import io.stoker.llm.tensor.DType;
import io.stoker.llm.testkit.RandomModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Stoker against llama.cpp (de.kherud:llama 4.2.0, in its own JVM) on the same GGUF files: tokenization of text with
 * punctuation, digits, unicode and special tokens is identical for three pre-tokenizers (gpt-2, llama-bpe, qwen2; files
 * without {@code add_bos_token}, so llama.cpp's BOS rule applies), and greedy generation agrees token for token at F32
 * and F16.
 *
 * <p>Both engines run an f16 KV cache (llama.cpp's default) and f32 arithmetic, in different orders, and llama.cpp
 * rounds activations to f16 before F16 weights; so the sequences may part only at a near tie (Stoker's top-2 logprob
 * margin under 0.02 there), and at least 12 of the 16 tokens must agree.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class LlamaCppCrossCheckTest {
    /** Untied head (logits of unit scale), 4 layers, GQA 2. */
    static final RandomModelWriter.Spec SPEC = new RandomModelWriter.Spec("LlamaForCausalLM", 128, 256, 4, 4, 2, 512,
            512, false, false, 11);
    static final List<String> TEXTS = List.of(
            "Hello world! How are you today?",
            "The answer is 42, and 3.14159 is not 1234567.",
            "na\u00efve caf\u00e9 \u2014 \u6771\u4eac \ud83d\ude42 \u00fcber",
            "<|im_start|>user\nhi there<|im_end|>\n<|im_start|>assistant\n",
            "  leading spaces,\ttabs\n\nand newlines  ",
            "quick-brown_fox's (parenthesized) [text] {braces} #tag @user $5.00 50%");
    static final List<String> PROMPTS = List.of("The quick brown fox", "Spark executors run the model");
    static final int N = 16;
    static final double MARGIN = 0.02;

    @TempDir
    Path tmp;

    @Test
    void shouldTokenizeLikeLlamaCppForEveryPreTokenizer() throws Exception {
        for (String pre : List.of("gpt-2", "llama-bpe", "qwen2")) {
            Path f = tmp.resolve("vocab-" + pre + ".gguf");
            RandomModelWriter.writeGguf(SPEC, f, DType.F32, g -> g.remove("tokenizer.ggml.add_bos_token")
                    .putString("tokenizer.ggml.pre", pre));
            JsonNode cpp = probe(f, TEXTS, List.of(), 1);
            try (LoadedModel m = ModelLoader.load(f.toString())) {
                for (int i = 0; i < TEXTS.size(); i++) {
                    int[] ours = m.requireTokenizer().encode(TEXTS.get(i), false);
                    assertThat(ours).as("%s: '%s'", pre, TEXTS.get(i)).containsExactly(ints(cpp.get("tokens").get(i)));
                }
            }
        }
    }

    @Test
    void shouldGenerateTheSameGreedyTokensAtF32AndF16() throws Exception {
        // tokens that are not printable ASCII on their own (special tokens, bytes of multi-byte characters) get an
        // LM-head row of zeros, so neither engine generates them and every streamed llama.cpp piece is one token
        Path probeVocab = tmp.resolve("vocab.gguf");
        RandomModelWriter.writeGguf(SPEC, probeVocab, DType.F32);
        List<Integer> unprintable = new ArrayList<>();
        try (LoadedModel m = ModelLoader.load(probeVocab.toString())) {
            for (int id = 0; id < SPEC.vocab(); id++) {
                String t = m.requireTokenizer().decode(new int[]{id}, false);
                if (t.isEmpty() || !t.chars().allMatch(c -> c >= 0x20 && c < 0x7f) || id < 3) {
                    unprintable.add(id);
                }
            }
        }
        for (DType dt : new DType[]{DType.F32, DType.F16}) {
            for (String pre : List.of("gpt-2", "llama-bpe")) {
                Path f = tmp.resolve("gen-" + dt + "-" + pre + ".gguf");
                RandomModelWriter.writeGguf(SPEC, f, dt, g -> g.remove("tokenizer.ggml.add_bos_token")
                        .putString("tokenizer.ggml.pre", pre), w -> zeroRows(w.get("lm_head.weight"), unprintable));
                JsonNode cpp = probe(f, List.of(), PROMPTS, N);
                try (LoadedModel m = ModelLoader.load(f.toString());
                     LlmEngine e = LlmEngine.local(m, EngineConfig.defaults().withThreads(1)
                             .withKvCacheBytes(8L << 20).withKvCacheDtype(DType.F16))) {
                    for (int p = 0; p < PROMPTS.size(); p++) {
                        CompletableFuture<GenerationResult> fut = e.submit(GenerationRequest.ofText(PROMPTS.get(p),
                                SamplingParams.builder().maxTokens(N).ignoreEos(true).logprobs(2).build()));
                        e.runUntilIdle();
                        GenerationResult r = fut.get();
                        JsonNode pieces = cpp.get("pieces").get(p);
                        // one streamed piece per token, then an empty final message
                        assertThat(pieces.size()).as("llama.cpp pieces").isBetween(N, N + 1);
                        int compared = 0;
                        for (int i = 0; i < N; i++) {
                            String ours = m.requireTokenizer().decode(new int[]{r.tokenIds()[i]}, false);
                            if (!pieces.get(i).asText().equals(ours)) {
                                TokenLogprobs lp = r.logprobs().get(i);
                                assertThat(lp.topLogprobs()[0] - lp.topLogprobs()[1])
                                        .as("%s %s prompt %d: token %d differs ('%s' vs llama.cpp '%s') without a near tie",
                                                dt, pre, p, i, ours, pieces.get(i).asText())
                                        .isLessThan((float) MARGIN);
                                break; // a near tie: the engines may diverge from here on, legitimately
                            }
                            compared++;
                        }
                        System.out.println(dt + " " + pre + " prompt " + p + ": " + compared + "/" + N
                                + " greedy tokens agree with llama.cpp");
                        assertThat(compared).as("%s %s prompt %d: tokens that agree", dt, pre, p)
                                .isGreaterThanOrEqualTo(12);
                    }
                }
            }
        }
    }

    private static void zeroRows(float[] head, List<Integer> rows) {
        int h = SPEC.hidden();
        for (int r : rows) {
            java.util.Arrays.fill(head, r * h, (r + 1) * h, 0f);
        }
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    /** Runs {@link LlamaCppProbe} in a child JVM with this JVM's classpath. */
    private JsonNode probe(Path model, List<String> texts, List<String> prompts, int n) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode req = json.createObjectNode();
        texts.forEach(req.putArray("texts")::add);
        prompts.forEach(req.putArray("prompts")::add);
        req.put("n", n);
        Path reqFile = tmp.resolve("request-" + System.nanoTime() + ".json");
        Files.write(reqFile, json.writeValueAsBytes(req));
        Path natives = Paths.get(System.getProperty("java.io.tmpdir"), "stoker-llama-jni");
        Files.createDirectories(natives); // a missing tmpdir gives UnsatisfiedLinkError
        Path log = tmp.resolve("probe.log");
        Process p = new ProcessBuilder(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dde.kherud.llama.tmpdir=" + natives, "-cp", System.getProperty("java.class.path"),
                LlamaCppProbe.class.getName(), model.toString(), reqFile.toString())
                .redirectError(log.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException("llama.cpp probe failed:\n" + out + "\n" + Files.readString(log));
        }
        String line = out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow(
                () -> new IllegalStateException("llama.cpp probe printed no result:\n" + out));
        return json.readTree(line);
    }
}
