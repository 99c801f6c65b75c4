package io.stoker.llm;

import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.LocalExecutor;
import io.stoker.llm.testkit.RandomModelWriter.Spec;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * The forward pass against the independent float64 reference (src/test/python/reference.py): logits at every
 * prompt position, then 32 greedy steps, for several shapes and file formats.
 */
class LlamaReferenceTest {
    static final int[] PROMPT = {5, 17, 300, 42, 7, 7, 99, 260, 1, 88, 123, 4, 250, 77, 31, 64, 2, 190, 11, 45, 301,
            9, 18, 222};
    static final int STEPS = 32;

    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of("gqa1-h96-untied", TestModels.GQA1),
                Arguments.of("gqa2-h160-tied-mistral", TestModels.GQA2),
                Arguments.of("gqa4-h576-qwen2-bias", TestModels.QWEN),
                Arguments.of("gqa4-llama3-rope", TestModels.LLAMA3));
    }

    /** Runs the prompt in one forward call (logits at every position), then greedy decode one token per call. */
    static Run run(String location, int steps) {
        return run(location, steps, EngineConfig.defaults().withKvCacheBytes(8L << 20).withThreads(2));
    }

    static Run run(String location, int steps, EngineConfig cfg) {
        try (LoadedModel m = ModelLoader.load(location); LocalExecutor ex = new LocalExecutor(m, cfg)) {
            int vocab = m.config().vocabSize();
            int[] table = new int[(PROMPT.length + steps) / cfg.blockSize() + 1];
            for (int i = 0; i < table.length; i++) {
                table[i] = table.length - 1 - i; // non-contiguous on purpose
            }
            float[] all = ex.logits(ForwardBatch.single(PROMPT, 0, table, true));
            float[][] logits = new float[PROMPT.length][];
            for (int t = 0; t < PROMPT.length; t++) {
                logits[t] = Arrays.copyOfRange(all, t * vocab, (t + 1) * vocab);
            }
            int[] greedy = new int[steps];
            int next = argmax(logits[PROMPT.length - 1]);
            for (int s = 0; s < steps; s++) {
                greedy[s] = next;
                float[] l = ex.logits(ForwardBatch.single(new int[]{next}, PROMPT.length + s, table, false));
                next = argmax(Arrays.copyOf(l, vocab));
            }
            return new Run(logits, greedy);
        }
    }

    record Run(float[][] logits, int[] greedy) {
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** @return the largest |java - reference| over all positions and the vocabulary */
    static double maxAbsDiff(float[][] got, double[][] ref) {
        double m = 0;
        for (int t = 0; t < ref.length; t++) {
            for (int i = 0; i < ref[t].length; i++) {
                m = Math.max(m, Math.abs(got[t][i] - ref[t][i]));
            }
        }
        return m;
    }

    static void assertGreedy(int[] got, PythonReference.Result ref) {
        for (int i = 0; i < got.length; i++) {
            if (got[i] != ref.greedy()[i]) {
                fail("greedy token " + i + " is " + got[i] + " but the reference chose " + ref.greedy()[i]
                        + " (reference top-2 margin there " + ref.margins()[i] + ")\n got " + Arrays.toString(got)
                        + "\nref " + Arrays.toString(ref.greedy()));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void shouldMatchFloat64ReferenceWithinTolerance(String name, Spec spec) {
        Path dir = TestModels.hf(spec, DType.F32);
        PythonReference.Result ref = PythonReference.run(dir, PROMPT, STEPS, "none");
        Run r = run(dir.toString(), STEPS);
        System.out.println(name + " f32 max diff " + maxAbsDiff(r.logits(), ref.logits()) + " greedy " + Arrays.toString(r.greedy()));
        assertThat(maxAbsDiff(r.logits(), ref.logits())).as("max |logit - reference| over all positions")
                .isLessThan(1e-4);
        assertGreedy(r.greedy(), ref);
    }

    @org.junit.jupiter.api.Test
    void shouldMatchReferenceWithMistralSlidingWindowShorterThanThePrompt(@org.junit.jupiter.api.io.TempDir Path tmp)
            throws Exception {
        Path src = TestModels.hf(TestModels.GQA2, DType.F32);
        Path dir = tmp.resolve("mistral-window8");
        java.nio.file.Files.createDirectories(dir);
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(src)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                java.nio.file.Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        com.fasterxml.jackson.databind.ObjectMapper m = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode c =
                (com.fasterxml.jackson.databind.node.ObjectNode) m.readTree(dir.resolve("config.json").toFile());
        c.put("sliding_window", 8);
        m.writeValue(dir.resolve("config.json").toFile(), c);
        PythonReference.Result ref = PythonReference.run(dir, PROMPT, STEPS, "none");
        PythonReference.Result full = PythonReference.run(src, PROMPT, STEPS, "none");
        Run r = run(dir.toString(), STEPS);
        assertThat(maxAbsDiff(r.logits(), ref.logits())).isLessThan(1e-4);
        assertThat(maxAbsDiff(r.logits(), full.logits())).as("the window changes the logits").isGreaterThan(1e-3);
        assertGreedy(r.greedy(), ref);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void shouldMatchReferenceFromGgufF32(String name, Spec spec) {
        PythonReference.Result ref = PythonReference.run(TestModels.hf(spec, DType.F32), PROMPT, STEPS, "none");
        Run r = run(TestModels.gguf(spec, DType.F32).toString(), STEPS);
        assertThat(maxAbsDiff(r.logits(), ref.logits())).isLessThan(1e-4);
        assertGreedy(r.greedy(), ref);
    }
}
