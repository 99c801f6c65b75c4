package io.stoker.benchmarks.spark.llm;

import java.util.ArrayList;
import java.util.List;

/** The benchmark's prompts: deterministic English-like questions of varied length, the same in every JVM. */
public final class BenchPrompts {
    private static final String[] SUBJECTS = {"the quick brown fox", "a Spark executor", "the engine", "a tokenizer",
        "the lazy dog", "a model", "the scheduler", "an answer"};
    private static final String[] VERBS = {"jumps over", "runs", "batches", "reads", "writes", "turns", "reaches",
        "explains"};
    private static final String[] OBJECTS = {"the prompt", "one token at a time", "the question", "text into tokens",
        "a stop token", "the maximum length", "requests continuously", "the world"};

    private BenchPrompts() {
    }

    /**
     * @return {@code n} prompts; prompt {@code i} has 1 to 4 clauses (with the random model's small byte-level BPE
     * vocabulary, 72 tokens on average over the first 64)
     */
    public static List<String> make(int n) {
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            StringBuilder b = new StringBuilder("Question ").append(i).append(':');
            int clauses = 1 + Math.floorMod(i * 7 + 3, 4);
            for (int c = 0; c < clauses; c++) {
                int k = i * 31 + c * 17;
                b.append(c == 0 ? " Why does " : " and then ").append(SUBJECTS[Math.floorMod(k, SUBJECTS.length)])
                        .append(' ').append(VERBS[Math.floorMod(k / 3 + c, VERBS.length)]).append(' ')
                        .append(OBJECTS[Math.floorMod(k / 7 + i, OBJECTS.length)]);
            }
            out.add(b.append('?').toString());
        }
        return out;
    }
}
