package io.stoker.llm.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.LoadedModel;
import io.stoker.llm.ModelLoader;
import io.stoker.llm.tensor.DType;
import io.stoker.runtime.cuda.Cuda;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The decode benchmark of {@code bin/stoker gpu-check} on the CUDA simulator at tiny shapes ({@code --small}): every
 * field present and sane (the simulator's speed says nothing about a GPU), the batch kept whole through the timed
 * steps, the bytes per step as the model's shapes give them, and the CUDA backend's greedy tokens equal to the CPU
 * backend's for 32 steps.
 */
@Timeout(value = 240, threadMode = Timeout.ThreadMode.SAME_THREAD)
class DecodeBenchmarkTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void shouldMeasureDecodeAndCheckParityOnTheSimulator() throws Exception {
        DecodeBenchmark.Options small = DecodeBenchmark.Options.small();
        JsonNode hf = JSON.readTree("{\"status\":\"ok\",\"runs\":[{\"batch\":4,\"decode_tokens_per_s\":0.5}]}");
        ObjectNode out = DecodeBenchmark.run(DecodeBenchmark.parse(new String[] {"--small"}).withHf(hf));
        assertThat(out.path("status").asText()).isEqualTo("ok");
        assertThat(out.path("simulated").asBoolean()).isEqualTo(Cuda.isSimulated());
        // the simulator reports an H200's memory clock and bus width: 2 x 3201 MHz x 6144 bits / 8 = 4917 GB/s
        assertThat(out.path("peak_bandwidth").path("gb_per_s").asDouble()).isCloseTo(4917.0, within(1.0));
        assertThat(out.path("peak_bandwidth").path("source").asText()).contains("cuDeviceGetAttribute");
        assertThat(out.path("model").path("weights_dtype").asText()).isEqualTo("BF16");

        // hidden 64, ffn 128, 2 layers, 4 heads of 16, 2 KV heads, vocab 256, bf16: linear weights 2 bytes each,
        // norms f32, embedding rows read per token only (not tied)
        long perLayer = 2L * (64 * 64 + 2 * 32 * 64 + 64 * 64 + 3 * 64 * 128) + 4L * 2 * 64;
        long weights = 2 * perLayer + 4L * 64 + 2L * 256 * 64;
        assertThat(out.path("model").path("weight_bytes_per_step").asLong()).isEqualTo(weights);
        long kvPerToken = 2L * 2 * 2 * 16 * 2; // layers x (K, V) x kv heads x head dim x f16
        assertThat(out.path("model").path("kv_bytes_per_token").asLong()).isEqualTo(kvPerToken);

        assertThat(out.path("runs")).hasSize(2);
        int[] batches = {1, 4};
        for (int i = 0; i < 2; i++) {
            JsonNode r = out.path("runs").get(i);
            int b = batches[i];
            assertThat(r.path("batch").asInt()).isEqualTo(b);
            for (String f : new String[] {"prefill_seconds", "tokens_per_s", "per_token_latency_ms", "step_ms_p50",
                    "achieved_gb_per_s", "roofline_share"}) {
                assertThat(r.path(f).asDouble()).as("batch %d %s", b, f).isPositive();
            }
            assertThat(r.path("tokens_per_s").asDouble())
                    .isCloseTo(b * 1e3 / r.path("per_token_latency_ms").asDouble(), within(1e-6));
            // prompt 8, 1 warm-up step, 4 timed steps: contexts 10..13, mean 11.5 tokens per sequence
            long kv = Math.round(b * 11.5) * kvPerToken + b * kvPerToken;
            assertThat(r.path("kv_bytes_per_step").asLong()).isEqualTo(kv);
            assertThat(r.path("bytes_per_step").asLong()).isEqualTo(weights + b * 2L * 64 + kv);
            assertThat(r.path("achieved_gb_per_s").asDouble()).isCloseTo(r.path("bytes_per_step").asDouble()
                    / (r.path("per_token_latency_ms").asDouble() / 1e3) / 1e9, within(1e-9));
        }
        JsonNode parity = out.path("parity");
        assertThat(parity.path("steps").asInt()).isEqualTo(32);
        assertThat(parity.path("equal").asBoolean()).as("parity: %s", parity).isTrue();
        assertThat(out.path("targets").path("parity_met").asBoolean()).isTrue();
        assertThat(out.path("targets").has("batch1_met")).isTrue();
        assertThat(out.path("vs_hf").path("speedup").path("batch_4").asDouble())
                .isCloseTo(out.path("runs").get(1).path("tokens_per_s").asDouble() / 0.5, within(1e-9));
        assertThat(small.batches()).containsExactly(1, 4);
    }

    @Test
    void shouldReportWhatItMeasuredWhenTheTimeLimitRunsOut() {
        ObjectNode out = DecodeBenchmark.run(DecodeBenchmark.parse(new String[] {"--small", "--no-parity",
                "--steps", "50", "--time-limit", "0.000001"}));
        JsonNode first = out.path("runs").get(0);
        assertThat(first.path("timed_steps").asInt()).isEqualTo(1);
        assertThat(first.path("cut_short").asText()).contains("after 1 of 50 timed steps");
        assertThat(first.path("tokens_per_s").asDouble()).isPositive();
        JsonNode second = out.path("runs").get(1);
        assertThat(second.path("status").asText()).isEqualTo("skipped");
        assertThat(second.path("batch").asInt()).isEqualTo(4);
        assertThat(out.has("parity")).isFalse();
    }

    @Test
    void shouldCountTiedEmbeddingsAsTheLmHeadsRead() {
        try (LoadedModel m = ModelLoader.load("random:tiny,tied=true,dtype=f16");
             LoadedModel u = ModelLoader.load("random:tiny,tied=false,dtype=f16")) {
            DecodeTraffic tied = DecodeTraffic.of(m, DType.F32);
            DecodeTraffic untied = DecodeTraffic.of(u, DType.F32);
            // an untied model reads lm_head (vocab x hidden) instead of the embedding table of the same size
            assertThat(tied.weightBytes()).isEqualTo(untied.weightBytes());
            assertThat(tied.parameters()).isEqualTo(untied.parameters() - 256L * 64);
            assertThat(tied.embeddingRowBytes()).isEqualTo(2L * 64);
        }
    }

    @Test
    void shouldRejectBadOptionsByName() {
        assertThatThrownBy(() -> DecodeBenchmark.parse(new String[] {"--batches", "1,x"}))
                .hasMessageContaining("--batches").hasMessageContaining("'x'");
        assertThatThrownBy(() -> DecodeBenchmark.parse(new String[] {"--kv-dtype", "bf16"}))
                .hasMessageContaining("--kv-dtype");
        assertThatThrownBy(() -> DecodeBenchmark.parse(new String[] {"--bogus", "1"}))
                .hasMessageContaining("unknown option '--bogus'");
        assertThatThrownBy(() -> DecodeBenchmark.parse(new String[] {"--steps", "0"}))
                .hasMessageContaining("--steps");
    }

    @Test
    void shouldReportAnHfSideThatDidNotRunInsteadOfComparing() throws Exception {
        JsonNode hf = JSON.readTree("{\"status\":\"error\",\"error\":\"transformers is not installed\"}");
        JsonNode r = DecodeBenchmark.compareWithHf(JSON.createArrayNode(), hf);
        assertThat(r.path("status").asText()).isEqualTo("not_compared");
        assertThat(r.path("reason").asText()).contains("transformers is not installed");
    }

    private static org.assertj.core.data.Offset<Double> within(double d) {
        return org.assertj.core.data.Offset.offset(d);
    }
}
