package io.stoker.benchmarks.spark.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The summary line of {@code bin/stoker bench spark llm}: per way the median over rounds; the ratios as the
 * median of per-round ratios (ways of one round ran back to back, so background load hits them alike) with their
 * targets; and the checks that make the comparison valid: every run read the same number of prompt tokens and
 * generated exactly prompts x max-tokens tokens, without errors.
 */
public final class LlmBenchSummary {
    /** A throughput ratio the issue sets a target for: {@code numerator / denominator >= min}. */
    public record Target(String name, Way numerator, Way denominator, double min) {
    }

    public static final List<Target> TARGETS = List.of(
            new Target("llmMap_vs_engine", Way.LLM_MAP, Way.ENGINE, 0.9),
            new Target("llmMap_vs_per_task", Way.LLM_MAP, Way.PER_TASK, 1.3),
            new Target("sql_vs_llmMap", Way.SQL, Way.LLM_MAP, 0.9),
            new Target("llmMap_vs_per_partition", Way.LLM_MAP, Way.PER_PARTITION, Double.NaN));

    /** Most resident model data, in model-file sizes, that still counts as one copy (page-boundary slack). */
    static final double ONE_COPY = 1.1;

    private LlmBenchSummary() {
    }

    /**
     * @param results  the workers' JSON lines ({@code way}, {@code round}, {@code tokens_per_s}, ...)
     * @param expected generated tokens every run must have (prompts x max-tokens)
     */
    public static ObjectNode summarize(List<ObjectNode> results, long expected) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode s = json.createObjectNode();
        s.put("benchmark", "spark-llm-summary");
        s.put("runs", results.size());
        s.put("expected_generated_tokens", expected);
        ObjectNode ways = s.putObject("ways");
        Map<Way, List<ObjectNode>> byWay = new LinkedHashMap<>();
        for (Way w : Way.values()) {
            for (ObjectNode r : results) {
                if (r.path("way").asText().equals(w.id())) {
                    byWay.computeIfAbsent(w, k -> new ArrayList<>()).add(r);
                }
            }
        }
        byWay.forEach((w, rs) -> {
            ObjectNode o = ways.putObject(w.id());
            o.put("letter", w.letter());
            o.put("runs", rs.size());
            for (String f : new String[]{"tokens_per_s", "tokens_per_cpu_s", "cores_used", "wall_ms", "tokens_per_step",
                "peak_rss_mb",
                "peak_minus_baseline_mb", "model_copies"}) {
                o.put(f, median(field(rs, f)));
            }
            o.put("model_loads", max(field(rs, "model_loads")));
            o.put("model_loads_timed", max(field(rs, "model_loads_timed")));
        });
        ObjectNode ratios = s.putObject("ratios");
        List<String> missed = new ArrayList<>();
        for (Target t : TARGETS) {
            List<Double> per = perRound(byWay, t, "tokens_per_s");
            if (per.isEmpty()) {
                continue;
            }
            ObjectNode o = ratios.putObject(t.name());
            o.put("median", round3(median(per)));
            ArrayNode all = o.putArray("per_round");
            per.forEach(x -> all.add(round3(x)));
            List<Double> perCpu = perRound(byWay, t, "tokens_per_cpu_s");
            if (!perCpu.isEmpty()) {
                o.put("median_per_cpu_second", round3(median(perCpu)));
            }
            if (!Double.isNaN(t.min())) {
                o.put("target", t.min());
                boolean met = median(per) >= t.min();
                o.put("met", met);
                if (!met) {
                    missed.add(t.name());
                }
            }
        }
        List<ObjectNode> llmMap = byWay.getOrDefault(Way.LLM_MAP, List.of());
        if (!llmMap.isEmpty()) {
            ObjectNode m = s.putObject("llmMap_one_model_copy");
            double copies = max(field(llmMap, "model_copies"));
            m.put("max_model_copies", copies);
            m.put("target", "<= " + ONE_COPY + " model files resident in the executor");
            m.put("met", copies <= ONE_COPY);
            if (copies > ONE_COPY) {
                missed.add("llmMap_one_model_copy");
            }
        }
        Set<Long> totals = new LinkedHashSet<>();
        Set<Long> inputs = new LinkedHashSet<>();
        Set<String> digests = new LinkedHashSet<>();
        long errors = 0;
        for (ObjectNode r : results) {
            totals.add(r.path("generated_tokens").asLong());
            inputs.add(r.path("input_tokens").asLong());
            digests.add(r.path("text_digest").asText());
            errors += r.path("errors").asLong();
        }
        boolean valid = totals.size() == 1 && totals.contains(expected) && errors == 0 && inputs.size() == 1;
        s.put("equal_generated_tokens", valid);
        ArrayNode seen = s.putArray("generated_token_totals");
        totals.forEach(seen::add);
        s.put("equal_input_tokens", inputs.size() == 1);
        s.put("errored_rows", errors);
        s.put("same_text_everywhere", digests.size() == 1);
        ArrayNode m = s.putArray("targets_missed");
        missed.forEach(m::add);
        if (!valid) {
            s.put("invalid", "runs did not all read the same prompt tokens and generate exactly " + expected
                    + " tokens without errors; the throughput figures do not compare like with like");
        }
        return s;
    }

    /** @return numerator / denominator of {@code f} for every round that ran both ways */
    private static List<Double> perRound(Map<Way, List<ObjectNode>> byWay, Target t, String f) {
        List<Double> per = new ArrayList<>();
        for (ObjectNode a : byWay.getOrDefault(t.numerator(), List.of())) {
            for (ObjectNode b : byWay.getOrDefault(t.denominator(), List.of())) {
                if (a.path("round").asInt() == b.path("round").asInt() && a.path(f).asDouble() > 0
                        && b.path(f).asDouble() > 0) {
                    per.add(a.path(f).asDouble() / b.path(f).asDouble());
                }
            }
        }
        return per;
    }

    private static List<Double> field(List<ObjectNode> rs, String f) {
        List<Double> v = new ArrayList<>();
        for (ObjectNode r : rs) {
            JsonNode n = r.get(f);
            if (n != null && n.isNumber()) {
                v.add(n.asDouble());
            }
        }
        return v;
    }

    static double median(List<Double> xs) {
        if (xs.isEmpty()) {
            return Double.NaN;
        }
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    private static double max(List<Double> xs) {
        return xs.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }

    private static double round3(double d) {
        return Math.round(d * 1000) / 1000.0;
    }
}
