package io.stoker.benchmarks.spark.llm;

import java.util.Locale;

/** One way of running the benchmark's prompts, each measured in its own JVM. */
public enum Way {
    /** (a) {@code LlmEngine} alone in one JVM, every prompt submitted at once (continuous batching). */
    ENGINE("a", "engine", "engine alone"),
    /** (b) {@code df.transform(Stoker.llm(...).prompt(col("q")))}: one shared engine per executor. */
    LLM_MAP("b", "llmMap", "llmMap"),
    /** (c) {@code mapPartitions} that loads a model and an engine in every partition (the naive way). */
    PER_PARTITION("c", "per-partition", "engine per partition"),
    /** (d) one unshared engine per concurrent task, fed batch by batch, as {@code predict_batch_udf} does. */
    PER_TASK("d", "per-task", "engine per task"),
    /** (e) the SQL function {@code llm_generate} on the same data. */
    SQL("e", "sql", "SQL llm_generate");

    private final String letter;
    private final String id;
    private final String title;

    Way(String letter, String id, String title) {
        this.letter = letter;
        this.id = id;
        this.title = title;
    }

    /** @return a..e, as the issue names the ways */
    public String letter() {
        return letter;
    }

    /** @return the name in JSON and on the command line */
    public String id() {
        return id;
    }

    public String title() {
        return title;
    }

    /** @return the way named by its letter or id (case-insensitive) */
    public static Way parse(String s) {
        String k = s.trim().toLowerCase(Locale.ROOT);
        for (Way w : values()) {
            if (w.letter.equals(k) || w.id.toLowerCase(Locale.ROOT).equals(k)) {
                return w;
            }
        }
        StringBuilder known = new StringBuilder();
        for (Way w : values()) {
            known.append(known.length() == 0 ? "" : ", ").append(w.letter).append('=').append(w.id);
        }
        throw new IllegalArgumentException("unknown way '" + s + "' (" + known + ")");
    }
}
