package io.stoker.benchmarks.spark.llm;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LlmBenchOptionsTest {
    @Test
    void shouldReadBackWhatItWritesForTheWorkers() {
        LlmBenchOptions o = LlmBenchOptions.parse(new String[]{"--prompts", "256", "--max-tokens", "64", "--ways",
            "b,d,engine", "--master", "local[4]", "--dtype", "F32", "--repeat", "3", "--json", "--model", "/m.gguf"});
        assertThat(o.ways()).containsExactly(Way.LLM_MAP, Way.PER_TASK, Way.ENGINE);
        assertThat(o.slots()).isEqualTo(4);
        assertThat(o.effectivePartitions()).isEqualTo(4);
        assertThat(o.dtype()).isEqualTo("f32");
        assertThat(LlmBenchOptions.parse(o.toArgs().toArray(new String[0]))).isEqualTo(o);
    }

    @Test
    void shouldNameTheOptionAndWhatIsAllowedOnBadInput() {
        assertThatThrownBy(() -> LlmBenchOptions.parse(new String[]{"--prompts", "0"}))
                .hasMessage("--prompts 0 must be a whole number >= 1");
        assertThatThrownBy(() -> LlmBenchOptions.parse(new String[]{"--master", "yarn"}))
                .hasMessageContaining("--master yarn must be local[N]");
        assertThatThrownBy(() -> LlmBenchOptions.parse(new String[]{"--ways", "b,z"}))
                .hasMessageContaining("unknown way 'z'").hasMessageContaining("d=per-task");
        assertThatThrownBy(() -> LlmBenchOptions.parse(new String[]{"--max-tokens"}))
                .hasMessage("--max-tokens needs a value");
        assertThat(LlmBenchOptions.parse(new String[0]).ways()).isEqualTo(List.of(Way.values()));
    }
}
