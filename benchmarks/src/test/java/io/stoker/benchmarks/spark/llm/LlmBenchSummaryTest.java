package io.stoker.benchmarks.spark.llm;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The summary's ratios, targets and validity checks, on hand-made worker lines. */
class LlmBenchSummaryTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode run(Way w, int round, double tps, long generated, double copies) {
        ObjectNode o = JSON.createObjectNode();
        o.put("way", w.id());
        o.put("round", round);
        o.put("tokens_per_s", tps);
        o.put("generated_tokens", generated);
        o.put("input_tokens", 4579);
        o.put("errors", 0);
        o.put("model_copies", copies);
        o.put("model_loads", 1);
        o.put("text_digest", "abc");
        return o;
    }

    @Test
    void shouldTakeTheMedianOfPerRoundRatiosAndJudgeEachTarget() {
        List<ObjectNode> rs = new ArrayList<>();
        // round 0 is slow for every way (background load); ratios within a round are what count
        double[] scale = {0.5, 1.0, 1.0};
        double[] llmMap = {95, 80, 95};
        for (int r = 0; r < 3; r++) {
            rs.add(run(Way.ENGINE, r, 100 * scale[r], 640, 1.0));
            rs.add(run(Way.LLM_MAP, r, llmMap[r] * scale[r], 640, 1.0));
            rs.add(run(Way.PER_TASK, r, 60 * scale[r], 640, 2.0));
            rs.add(run(Way.SQL, r, 80 * scale[r], 640, 1.0));
        }
        ObjectNode s = LlmBenchSummary.summarize(rs, 640);
        assertThat(s.path("ratios").path("llmMap_vs_engine").path("median").asDouble()).isEqualTo(0.95);
        assertThat(s.path("ratios").path("llmMap_vs_engine").path("met").asBoolean()).isTrue();
        assertThat(s.path("ratios").path("llmMap_vs_per_task").path("median").asDouble()).isEqualTo(1.583);
        // sql / llmMap per round: 0.842, 1.0, 0.842 -> median 0.842 < 0.9
        assertThat(s.path("ratios").path("sql_vs_llmMap").path("met").asBoolean()).isFalse();
        assertThat(s.path("targets_missed").toString()).isEqualTo("[\"sql_vs_llmMap\"]");
        assertThat(s.path("ratios").has("llmMap_vs_per_partition")).isFalse();
        assertThat(s.path("ways").path("engine").path("tokens_per_s").asDouble()).isEqualTo(100);
        assertThat(s.path("llmMap_one_model_copy").path("met").asBoolean()).isTrue();
        assertThat(s.path("equal_generated_tokens").asBoolean()).isTrue();
        assertThat(s.has("invalid")).isFalse();
    }

    @Test
    void shouldMarkRunsInvalidWhenGeneratedTokensDifferOrRowsFailed() {
        List<ObjectNode> rs = List.of(run(Way.ENGINE, 0, 100, 640, 1), run(Way.LLM_MAP, 0, 120, 600, 1));
        ObjectNode s = LlmBenchSummary.summarize(rs, 640);
        assertThat(s.path("equal_generated_tokens").asBoolean()).isFalse();
        assertThat(s.path("invalid").asText()).contains("exactly 640 tokens");

        ObjectNode errored = run(Way.LLM_MAP, 0, 120, 640, 1);
        errored.put("errors", 3);
        ObjectNode s2 = LlmBenchSummary.summarize(List.of(run(Way.ENGINE, 0, 100, 640, 1), errored), 640);
        assertThat(s2.path("errored_rows").asLong()).isEqualTo(3);
        assertThat(s2.has("invalid")).isTrue();

        ObjectNode otherPrompts = run(Way.SQL, 0, 120, 640, 1);
        otherPrompts.put("input_tokens", 4000);
        ObjectNode s3 = LlmBenchSummary.summarize(List.of(run(Way.ENGINE, 0, 100, 640, 1), otherPrompts), 640);
        assertThat(s3.path("equal_input_tokens").asBoolean()).isFalse();
        assertThat(s3.has("invalid")).isTrue();
    }

    @Test
    void shouldMissTheOneCopyTargetWhenTheExecutorHoldsTwoModels() {
        ObjectNode s = LlmBenchSummary.summarize(List.of(run(Way.LLM_MAP, 0, 100, 640, 2.0)), 640);
        assertThat(s.path("llmMap_one_model_copy").path("met").asBoolean()).isFalse();
        assertThat(s.path("targets_missed").toString()).contains("llmMap_one_model_copy");
    }
}
