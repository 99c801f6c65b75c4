package io.stoker.spark.llm;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Option parsing and validation of LLM calls (driver side, no Spark). */
class LlmSpecTest {
    @Test
    void shouldApplyDefaultsAndReadBackItsOwnOptions() {
        LlmSpec s = Llm.model("demo").maxTokens(32).stop("\n\n", "Q:").seed(7).spec();
        assertThat(s.defaults().maxTokens()).isEqualTo(32);
        assertThat(s.defaults().stop()).containsExactly("\n\n", "Q:");
        assertThat(s.defaults().seed()).isEqualTo(7L);
        assertThat(s.defaults().temperature()).isZero();
        assertThat(s.kvCacheBytes()).isEqualTo(256L << 20);
        assertThat(s.chatTemplate()).isEqualTo("auto");
        assertThat(LlmSpec.parse(s.toOptions())).isEqualTo(s);
        assertThat(LlmOutputSchema.struct(s).fieldNames()).containsExactly("generated_text", "num_input_tokens",
                "num_generated_tokens", "finish_reason", "time_to_first_token_ms", "time_taken_ms", "error");
    }

    @Test
    void shouldNameEveryBadOptionItsValueAndWhatIsAllowed() {
        assertThatThrownBy(() -> LlmSpec.parse(Map.of("model", "demo", "top_p", "1.5", "kv_cache_mb", "lots",
                "chat_template", "maybe", "tempreature", "0.3", "stop", "[1,")))
                .isInstanceOf(LlmConfigException.class)
                .hasMessageContaining("top_p=1.5 must be in (0, 1]")
                .hasMessageContaining("'kv_cache_mb' = 'lots' is not a whole number")
                .hasMessageContaining("'chat_template' = 'maybe' must be one of auto, true, false")
                .hasMessageContaining("unknown LLM option 'tempreature'; did you mean 'temperature'?")
                .hasMessageContaining("'stop' = '[1,' is not a JSON array of strings");
        assertThatThrownBy(() -> LlmSpec.parse(Map.of("max_tokens", "3")))
                .hasMessageContaining("LLM option 'model' is required");
        assertThatThrownBy(() -> Llm.model("demo").chatTemplate(false).systemPrompt("x").spec())
                .hasMessageContaining("'system_prompt' needs the chat template");
    }

    @Test
    void shouldValidateTheDeviceOptionOnTheDriver() {
        assertThat(Llm.model("demo").spec().device()).isEqualTo("auto");
        assertThat(Llm.model("demo").device("CUDA").spec().device()).isEqualTo("cuda");
        assertThat(Llm.model("demo").device("cpu").spec().device()).isEqualTo("cpu");
        assertThatThrownBy(() -> Llm.model("demo").device("gpu").spec()).isInstanceOf(LlmConfigException.class)
                .hasMessageContaining("LLM option 'device' = 'gpu' must be one of auto, cpu, cuda");
        assertThat(Llm.model("demo").device("cuda").tensorParallel(2).spec().tensorParallel()).isEqualTo(2);
        assertThat(Llm.model("demo").device("cpu").tensorParallel(2).spec().tensorParallel()).isEqualTo(2);
        assertThatThrownBy(() -> LlmSpec.parse(Map.of("model", "m", "base_url", "http://127.0.0.1:1/v1",
                "device", "cuda"))).hasMessageContaining("'device' applies to the local engine only");
        assertThatThrownBy(() -> LlmSpec.parse(Map.of("model", "m", "base_url", "http://127.0.0.1:1/v1",
                "tensor_parallel", "2"))).hasMessageContaining("'tensor_parallel' applies to the local engine only");
        assertThatThrownBy(() -> LlmSpec.parse(Map.of("model", "m", "base_url", "http://127.0.0.1:1/v1",
                "pipeline_parallel", "2"))).hasMessageContaining("'pipeline_parallel' applies to the local engine only");
        assertThat(LlmSpec.parse(Map.of("model", "m", "base_url", "http://127.0.0.1:1/v1", "tensor_parallel", "1"))
                .tensorParallel()).as("the default value is harmless with a server").isEqualTo(1);
        assertThat(Llm.model("demo").device("cuda").spec().engineKey())
                .as("CUDA and CPU engines are different engines")
                .isNotEqualTo(Llm.model("demo").device("cpu").spec().engineKey());
    }

    @Test
    void shouldReadPipelineParallelAndRefuseBadValuesOrTheCombinationWithTensorParallel() {
        LlmSpec one = Llm.model("demo").spec();
        assertThat(one.pipelineParallel()).isEqualTo(1);
        assertThat(one.gpusPerEngine()).isEqualTo(1);
        LlmSpec pp = LlmSpec.parse(Map.of("model", "demo", "Pipeline-Parallel", " 2 "));
        assertThat(pp.pipelineParallel()).isEqualTo(2);
        assertThat(pp.tensorParallel()).isEqualTo(1);
        assertThat(pp.gpusPerEngine()).isEqualTo(2);
        assertThat(pp.gpusPerEngineOption()).isEqualTo(LlmOption.PIPELINE_PARALLEL);
        assertThat(Llm.model("demo").tensorParallel(4).spec().gpusPerEngineOption())
                .isEqualTo(LlmOption.TENSOR_PARALLEL);
        assertThat(Llm.model("demo").pipelineParallel(3).spec()).isEqualTo(LlmSpec.parse(Map.of("model", "demo",
                "pipeline_parallel", "3")));
        assertThat(LlmSpec.parse(pp.toOptions())).isEqualTo(pp);
        assertThat(pp.engineKey()).as("a pipeline engine is not the single-worker engine")
                .isNotEqualTo(one.engineKey()).isNotEqualTo(Llm.model("demo").tensorParallel(2).spec().engineKey());

        assertThatThrownBy(() -> Llm.model("demo").pipelineParallel(0).spec()).isInstanceOf(LlmConfigException.class)
                .hasMessageContaining("LLM option 'pipeline_parallel' = '0' must be between 1 and 64");
        assertThatThrownBy(() -> LlmSpec.parse(Map.of("model", "demo", "pipeline_parallel", "two")))
                .isInstanceOf(LlmConfigException.class)
                .hasMessageContaining("LLM option 'pipeline_parallel' = 'two' is not a whole number");
        assertThatThrownBy(() -> Llm.model("demo").tensorParallel(2).pipelineParallel(2).spec())
                .isInstanceOf(LlmConfigException.class)
                .hasMessageContaining("LLM options 'tensor_parallel' = 2 and 'pipeline_parallel' = 2 cannot be"
                        + " combined")
                .hasMessageContaining("set one of them to 1");
        assertThat(Llm.model("demo").tensorParallel(1).pipelineParallel(2).spec().gpusPerEngine())
                .as("tensor_parallel = 1 is not a combination").isEqualTo(2);
    }

    @Test
    void shouldShareEnginesOnlyBetweenCallsWithTheSameModelAndEngineOptions() {
        LlmSpec a = Llm.model("demo").maxTokens(3).temperature(0.5).spec();
        LlmSpec b = Llm.model("demo").maxTokens(99).systemPrompt("Be brief.").spec();
        assertThat(a.engineKey()).isEqualTo(b.engineKey());
        assertThat(Llm.model("demo").kvCacheMb(64).spec().engineKey()).isNotEqualTo(a.engineKey());
        assertThat(Llm.model("/m2").spec().engineKey()).isNotEqualTo(a.engineKey());
    }

    @Test
    void shouldRenameAndPrefixOutputColumnsAndRefuseDuplicates() {
        LlmSpec s = Llm.model("demo").outputPrefix("llm_").outputName("generated_text", "answer").logprobs(2)
                .returnTokenIds(true).spec();
        assertThat(LlmOutputSchema.struct(s).fieldNames()).containsExactly("answer", "llm_num_input_tokens",
                "llm_num_generated_tokens", "llm_finish_reason", "llm_time_to_first_token_ms", "llm_time_taken_ms",
                "llm_error", "llm_token_ids", "llm_logprobs");
        assertThatThrownBy(() -> Llm.model("demo").outputName("error", "generated_text").spec())
                .hasMessageContaining("gives two output columns the name 'generated_text'");
        assertThatThrownBy(() -> Llm.model("demo").outputName("text", "x").spec())
                .hasMessageContaining("bad pair: 'text=x'");
    }

    @Test
    void shouldDeriveRowSeedsFromTheGlobalSeedAndThePromptOnly() {
        long a = RequestPreparer.rowSeed(7, new int[]{1, 2, 3});
        assertThat(RequestPreparer.rowSeed(7, new int[]{1, 2, 3})).isEqualTo(a);
        assertThat(RequestPreparer.rowSeed(8, new int[]{1, 2, 3})).isNotEqualTo(a);
        assertThat(RequestPreparer.rowSeed(7, new int[]{1, 2, 4})).isNotEqualTo(a);
        assertThat(RequestPreparer.sampling(Llm.model("demo").seed(7).spec().defaults(), null, null,
                new int[]{1, 2, 3}).seed()).isEqualTo(a);
    }

    @Test
    void shouldDocumentEveryOption() throws Exception {
        String doc = Files.readString(Path.of("..", "docs", "llm-on-spark.md"), StandardCharsets.UTF_8);
        for (LlmOption o : LlmOption.values()) {
            assertThat(doc).as("docs/llm-on-spark.md lists option " + o.key()).contains("| `" + o.key() + "` |");
        }
        for (String c : LlmSpec.OUTPUT_COLUMNS) {
            assertThat(doc).as("docs/llm-on-spark.md lists output column " + c).contains("| `" + c + "` |");
        }
        for (String f : List.copyOf(RequestPreparer.SAMPLING_KEYS)) {
            assertThat(doc).as("docs/llm-on-spark.md lists sampling field " + f).contains("`" + f + "`");
        }
    }
}
