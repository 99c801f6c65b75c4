package io.stoker.llm.load;

import io.stoker.llm.TestModels;
import io.stoker.llm.testkit.RandomModelWriter;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class GgufNamesTest {
    @Test
    void shouldMapEveryLlamaTensorToGgufAndBack() {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        RandomModelWriter.weights(TestModels.QWEN, shapes); // with q/k/v biases
        RandomModelWriter.weights(TestModels.GQA1, shapes); // untied: lm_head
        for (String hf : shapes.keySet()) {
            String gguf = GgufNames.toGguf(hf);
            assertThat(gguf).as(hf).isNotNull();
            assertThat(GgufNames.toHf(gguf)).isEqualTo(hf);
        }
        assertThat(GgufNames.toGguf("model.layers.12.mlp.down_proj.weight")).isEqualTo("blk.12.ffn_down.weight");
        assertThat(GgufNames.toHf("output.weight")).isEqualTo("lm_head.weight");
    }

    @Test
    void shouldReturnNullForTensorsTheModelDoesNotRead() {
        assertThat(GgufNames.toHf("rope_freqs.weight")).isNull();
        assertThat(GgufNames.toHf("attn_norm.weight")).as("a layer suffix without its block").isNull();
        assertThat(GgufNames.toHf("blk.3.attn_qkv.weight")).isNull();
        assertThat(GgufNames.toGguf("model.layers.0.self_attn.rotary_emb.inv_freq")).isNull();
    }
}
