package io.stoker.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.FinishReason;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.batch.LocalExecutor;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.tokenizer.ChatTemplate.Message;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The bundled demo model through the real loader, tokenizer, chat template and engine: held-out exact match, the
 * training format, and the forward pass against the float64 reference.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class DemoModelTest {
    static final Path TRAIN_PY = Paths.get("src", "demo-model", "train.py").toAbsolutePath();
    static final Path SOURCE = Paths.get("src", "main", "resources", "io", "stoker", "llm", "demo-model")
            .toAbsolutePath();
    static LoadedModel model;
    static List<DemoModel.Question> heldOut;
    static List<GenerationResult> answers;

    @BeforeAll
    static void load() {
        model = ModelLoader.load(DemoModel.NAME);
        heldOut = DemoModel.heldOut();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static List<Message> chat(DemoModel.Question q) {
        List<Message> m = new ArrayList<>();
        if (q.system() != null) {
            m.add(new Message("system", q.system()));
        }
        m.add(new Message("user", q.question()));
        return m;
    }

    @Test
    void shouldLoadByNameWithItsTokenizerTemplateAndEos() {
        assertThat(model.location()).isEqualTo("demo");
        assertThat(model.config().architecture()).isEqualTo("LlamaForCausalLM");
        assertThat(model.config().numKeyValueHeads()).isLessThan(model.config().numAttentionHeads());
        assertThat(model.chatTemplate()).isNotNull();
        assertThat(model.eosTokenIds()).contains(model.tokenizer().tokenId("<|end|>"));
        assertThat(heldOut).hasSize(200);
        assertThat(heldOut.stream().filter(q -> q.system() != null).count()).as("questions with a system prompt")
                .isBetween(40L, 160L);
    }

    /** Runs train.py in {@code mode} on the source copy of the model (it holds heldout.jsonl); stdout lines. */
    static String[] trainPy(String mode) throws Exception {
        Process p = new ProcessBuilder(PythonReference.PYTHON, TRAIN_PY.toString(), mode, SOURCE.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("train.py " + mode + " finishes").isTrue();
        assertThat(p.exitValue()).as("train.py " + mode + " (needs " + PythonReference.PYTHON + " with torch)").isZero();
        return out.strip().split("\n");
    }

    /** The engine's greedy answers to every held-out question, all submitted at once (continuously batched). */
    static synchronized List<GenerationResult> javaAnswers() throws Exception {
        if (answers == null) {
            EngineConfig cfg = EngineConfig.defaults().withThreads(2).withKvCacheBytes(16L << 20);
            List<GenerationResult> results = new ArrayList<>();
            try (LlmEngine engine = LlmEngine.local(model, cfg)) {
                List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
                for (DemoModel.Question q : heldOut) {
                    fs.add(engine.submit(GenerationRequest.ofChat(chat(q), SamplingParams.greedy(32))));
                }
                engine.runUntilIdle();
                for (CompletableFuture<GenerationResult> f : fs) {
                    results.add(f.get());
                }
            }
            answers = List.copyOf(results);
        }
        return answers;
    }

    @Test
    void shouldAnswerHeldOutQuestionsWithAtLeast95PercentExactMatch() throws Exception {
        List<GenerationResult> results = javaAnswers();
        Map<String, int[]> perTask = new TreeMap<>();
        List<String> wrong = new ArrayList<>();
        int correct = 0;
        for (int i = 0; i < heldOut.size(); i++) {
            DemoModel.Question q = heldOut.get(i);
            GenerationResult r = results.get(i);
            boolean ok = q.isCorrect(r.text());
            int[] c = perTask.computeIfAbsent(q.task(), k -> new int[2]);
            c[1]++;
            if (ok) {
                correct++;
                c[0]++;
                assertThat(r.finishReason()).as("a correct answer ends with the EOS token: " + q).isEqualTo(FinishReason.STOP);
            } else {
                wrong.add(q.question() + " -> '" + r.text() + "' (expected '" + q.answer() + "')");
            }
        }
        double exact = correct / (double) heldOut.size();
        StringBuilder tasks = new StringBuilder();
        perTask.forEach((t, c) -> tasks.append(t).append(' ').append(c[0]).append('/').append(c[1]).append("  "));
        System.out.println("demo model held-out exact match " + exact + ": " + tasks + "\nwrong: " + wrong);
        assertThat(exact).as("held-out exact match; per task: " + tasks + "; wrong (first 20): "
                        + wrong.subList(0, Math.min(20, wrong.size())))
                .isGreaterThanOrEqualTo(0.95);
    }

    @Test
    void shouldRenderAndTokenizePromptsExactlyAsTrainingDid() throws Exception {
        String[] lines = trainPy("--prompt-ids");
        assertThat(lines).hasSize(heldOut.size());
        ObjectMapper json = new ObjectMapper();
        try (LlmEngine engine = LlmEngine.local(model, EngineConfig.defaults().withThreads(1)
                .withKvCacheBytes(1L << 20))) {
            for (int i = 0; i < heldOut.size(); i++) {
                JsonNode n = json.readTree(lines[i]);
                int[] expected = new int[n.size()];
                for (int j = 0; j < expected.length; j++) {
                    expected[j] = n.get(j).asInt();
                }
                int[] got = engine.promptIds(GenerationRequest.ofChat(chat(heldOut.get(i)), SamplingParams.greedy(1)));
                assertThat(got).as("prompt ids of " + heldOut.get(i)).containsExactly(expected);
            }
        }
    }

    @Test
    void shouldGiveTheSameAnswersAsTheTrainingScriptsTorchModel() throws Exception {
        String[] lines = trainPy("--evaluate");
        assertThat(lines).hasSize(heldOut.size() + 1);
        ObjectMapper json = new ObjectMapper();
        List<GenerationResult> results = javaAnswers();
        List<String> differ = new ArrayList<>();
        for (int i = 0; i < heldOut.size(); i++) {
            JsonNode n = json.readTree(lines[i]);
            assertThat(n.get("question").asText()).isEqualTo(heldOut.get(i).question());
            if (!n.get("got").asText().equals(results.get(i).text())) {
                differ.add(heldOut.get(i).question() + " torch '" + n.get("got").asText() + "' java '"
                        + results.get(i).text() + "'");
            }
        }
        JsonNode summary = json.readTree(lines[heldOut.size()]);
        System.out.println("train.py --evaluate: " + summary + "; answers that differ from Java's: " + differ);
        assertThat(differ).as("answers where torch (float32) and the Java engine disagree").isEmpty();
        assertThat(summary.get("exact_match").asDouble()).as("the script's own held-out exact match")
                .isGreaterThanOrEqualTo(0.95);
    }

    @Test
    void shouldMatchFloat64ReferenceOnTheDemoModel() {
        DemoModel.Question q = heldOut.stream().filter(x -> x.system() != null).findFirst().orElseThrow();
        int[] prompt;
        try (LlmEngine engine = LlmEngine.local(model, EngineConfig.defaults().withThreads(1)
                .withKvCacheBytes(1L << 20))) {
            prompt = engine.promptIds(GenerationRequest.ofChat(chat(q), SamplingParams.greedy(1)));
        }
        int[] expected = model.tokenizer().encode(q.answer(), false);
        int steps = expected.length + 1;
        PythonReference.Result ref = PythonReference.run(DemoModel.directory(), prompt, steps, "none");
        EngineConfig cfg = EngineConfig.defaults().withKvCacheBytes(1L << 20).withThreads(2);
        int vocab = model.config().vocabSize();
        try (LocalExecutor ex = new LocalExecutor(model, cfg)) {
            int[] table = new int[(prompt.length + steps) / cfg.blockSize() + 1];
            for (int i = 0; i < table.length; i++) {
                table[i] = i;
            }
            float[] all = ex.logits(ForwardBatch.single(prompt, 0, table, true));
            float[][] logits = new float[prompt.length][];
            for (int t = 0; t < prompt.length; t++) {
                logits[t] = Arrays.copyOfRange(all, t * vocab, (t + 1) * vocab);
            }
            double diff = LlamaReferenceTest.maxAbsDiff(logits, ref.logits());
            double scale = Arrays.stream(ref.logits()).flatMapToDouble(Arrays::stream).map(Math::abs).max().orElse(0);
            System.out.println("demo model max |logit - reference| " + diff + " (largest |logit| " + scale + ")");
            assertThat(diff).as("max |logit - reference| over all prompt positions").isLessThan(1e-4);
        }
        int[] answer = new int[steps];
        System.arraycopy(expected, 0, answer, 0, expected.length);
        answer[steps - 1] = model.tokenizer().tokenId("<|end|>");
        assertThat(ref.greedy()).as("the reference's greedy continuation is the answer, then <|end|>")
                .containsExactly(answer);
    }
}
