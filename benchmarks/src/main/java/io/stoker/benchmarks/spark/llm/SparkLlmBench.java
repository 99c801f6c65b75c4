package io.stoker.benchmarks.spark.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.benchmarks.BenchModels;
import io.stoker.spark.cli.LocalSparkHome;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code bin/stoker bench spark llm}: the same prompts through the engine alone, llmMap, a per-partition engine, an
 * engine per task and the SQL function, each in its own worker JVM ({@link LlmWayWorker}), rounds in rotating order.
 * Prints a table (or, with {@code --json}, the workers' JSON lines) and last a summary JSON line
 * ({@link LlmBenchSummary}): throughput ratios against the targets, model loads, memory, and whether every run
 * generated the same number of tokens. Options: {@link LlmBenchOptions#USAGE}.
 */
public final class SparkLlmBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SparkLlmBench() {
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args));
    }

    /** @return the exit code: 0, 1 when a worker failed or the runs did not compare like with like, 2 on bad options */
    public static int run(String[] args) throws Exception {
        if (List.of(args).contains("--help") || List.of(args).contains("-h")) {
            System.out.print(LlmBenchOptions.USAGE);
            return 0;
        }
        LlmBenchOptions opts;
        try {
            opts = LlmBenchOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("stoker bench spark llm: " + e.getMessage());
            System.err.print(LlmBenchOptions.USAGE);
            return 2;
        }
        opts = opts.withModel(resolveModel(opts).toString());
        if (!opts.json()) {
            System.out.printf("model %s, %d prompts x %d tokens, %s, %d partitions, %d round(s)%n", opts.model(),
                    opts.prompts(), opts.maxTokens(), opts.master(), opts.effectivePartitions(), opts.repeat());
            System.out.printf("%-5s %-24s %8s %9s %6s %8s %9s %6s %8s %9s %9s %9s %7s%n", "round", "way", "tok/s",
                    "tok/cpu-s", "cores", "wall s", "gen tok", "loads", "tok/step", "base MB", "peak MB", "peak-base",
                    "copies");
        }
        List<ObjectNode> results = new ArrayList<>();
        boolean failed = false;
        List<Way> ways = opts.ways();
        for (int r = 0; r < opts.repeat(); r++) {
            for (int k = 0; k < ways.size(); k++) {
                Way w = ways.get(Math.floorMod(k + r, ways.size()));
                ObjectNode o = runWorker(w, r, opts);
                if (o == null) {
                    failed = true;
                    continue;
                }
                results.add(o);
                if (opts.json()) {
                    System.out.println(o);
                } else {
                    System.out.printf("%-5d %-24s %8.1f %9.1f %6.2f %8.1f %9d %6s %8.1f %9d %9d %9d %7.2f%n", r,
                            "(" + w.letter() + ") " + w.title(), o.path("tokens_per_s").asDouble(),
                            o.path("tokens_per_cpu_s").asDouble(), o.path("cores_used").asDouble(),
                            o.path("wall_ms").asDouble() / 1000, o.path("generated_tokens").asLong(),
                            o.path("model_loads").asLong() + "(" + o.path("model_loads_timed").asLong() + ")",
                            o.path("tokens_per_step").asDouble(), o.path("baseline_rss_mb").asLong(),
                            o.path("peak_rss_mb").asLong(), o.path("peak_minus_baseline_mb").asLong(),
                            o.path("model_copies").asDouble());
                }
                System.out.flush();
            }
        }
        ObjectNode summary = LlmBenchSummary.summarize(results, (long) opts.prompts() * opts.maxTokens());
        if (!opts.json()) {
            printReadable(summary);
        }
        System.out.println(summary);
        return failed || summary.has("invalid") ? 1 : 0;
    }

    private static void printReadable(ObjectNode s) {
        System.out.println("tok/cpu-s: generated tokens per CPU second of the JVM; cores: CPU seconds per wall second;"
                + " loads: model loads in the worker JVM (during the timed run); tok/step: generated tokens per engine"
                + " step (rows batched together); copies: model files resident in the JVM's mappings");
        s.path("ratios").fields().forEachRemaining(e -> {
            JsonNode r = e.getValue();
            System.out.printf("%-24s %6.3f (median of %d round(s); per CPU second %.3f)%s%n", e.getKey(),
                    r.path("median").asDouble(), r.path("per_round").size(), r.path("median_per_cpu_second")
                            .asDouble(), r.has("target") ? String.format(Locale.ROOT, "  target >= %.1f: %s",
                            r.path("target").asDouble(), r.path("met").asBoolean() ? "met" : "MISSED") : "");
        });
        JsonNode copy = s.path("llmMap_one_model_copy");
        if (!copy.isMissingNode()) {
            System.out.printf("llmMap model copies in the executor: %.2f  (%s)%n", copy.path("max_model_copies")
                    .asDouble(), copy.path("met").asBoolean() ? "one copy: met" : "MISSED");
        }
        System.out.printf("generated tokens equal in every run (%s, no errors): %s; same text everywhere: %s%n",
                s.path("expected_generated_tokens").asLong(), s.path("equal_generated_tokens").asBoolean(),
                s.path("same_text_everywhere").asBoolean());
    }

    /** @return the model file: the given path, or the cached random model (written on first use) */
    static Path resolveModel(LlmBenchOptions opts) throws IOException {
        if (opts.model() != null) {
            Path p = Path.of(opts.model()).toAbsolutePath();
            if (!Files.exists(p)) {
                throw new IllegalArgumentException("--model " + opts.model() + " does not exist; give a .gguf file or"
                        + " a Hugging Face directory, or leave --model out for --random smollm-135m");
            }
            return p;
        }
        return BenchModels.randomSmolLm135m(opts.dtype());
    }

    /** Runs one way in a fresh JVM; returns its JSON line, or null (with the worker's log on stderr) on failure. */
    private static ObjectNode runWorker(Way w, int round, LlmBenchOptions opts) throws IOException,
            InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(LocalSparkHome.javaExecutable());
        for (String a : LocalSparkHome.jvmOptions()) {
            if (!a.startsWith("-Xmx") && !a.startsWith("-Xms")) {
                cmd.add(a);
            }
        }
        cmd.add("-Xmx" + opts.workerHeap());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(LlmWayWorker.class.getName());
        cmd.add(w.id());
        cmd.add(Integer.toString(round));
        cmd.addAll(opts.toArgs());
        Path log = Files.createTempFile("stoker-bench-llm-" + w.id(), ".log");
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
        ObjectNode result = null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("{")) {
                    result = (ObjectNode) JSON.readTree(line);
                }
            }
        }
        int rc = p.waitFor();
        if (rc != 0 || result == null) {
            List<String> lines = Files.readAllLines(log);
            System.err.println("stoker bench spark llm: way " + w.id() + " (round " + round + ") exited with " + rc
                    + "; the last lines of its log (" + log + "):");
            lines.subList(Math.max(0, lines.size() - 60), lines.size()).forEach(System.err::println);
            return null;
        }
        Files.deleteIfExists(log);
        return result;
    }
}
