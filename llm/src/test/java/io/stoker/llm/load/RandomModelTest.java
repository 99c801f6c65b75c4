package io.stoker.llm.load;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.ModelLoader;
import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code random:} model sources: shapes from presets and keys, deterministic weights, errors naming the key. */
class RandomModelTest {
    @Test
    void shouldBuildAnEightBillionParameterModelWithoutMaterializingIt() {
        LoadedModel m = ModelLoader.load("random:llama-3.1-8b,layers=2");
        assertThat(m.config().hiddenSize()).isEqualTo(4096);
        assertThat(m.config().numKeyValueHeads()).isEqualTo(8);
        assertThat(m.config().numHiddenLayers()).isEqualTo(2);
        Tensor embed = m.tensors().get("model.embed_tokens.weight", 128256, 4096);
        assertThat(embed).isInstanceOf(RandomTensor.class);
        assertThat(embed.dtype()).isEqualTo(DType.BF16);
        // embeddings + lm_head (untied) 2 * 128256 * 4096, per layer 4096 * (2 * 4096 + 2 * 1024 + 3 * 14336) + norms
        long params = 2L * 128256 * 4096 + 2L * (4096L * (2 * 4096 + 2 * 1024 + 3 * 14336) + 2 * 4096) + 4096;
        assertThat(m.tensors().totalBytes()).isEqualTo(2 * params);
    }

    @Test
    void shouldGiveTheSameWeightsForTheSameSeedAndOthersForAnother() {
        LoadedModel a = ModelLoader.load("random:tiny,seed=7");
        LoadedModel b = ModelLoader.load("random:tiny,seed=7");
        LoadedModel c = ModelLoader.load("random:tiny,seed=8");
        String name = "model.layers.1.mlp.up_proj.weight";
        float[] x = ((RandomTensor) a.tensors().get(name)).materialize().toFloatArray();
        float[] y = ((RandomTensor) b.tensors().get(name)).materialize().toFloatArray();
        float[] z = ((RandomTensor) c.tensors().get(name)).materialize().toFloatArray();
        assertThat(x).hasSize(128 * 64).isEqualTo(y).isNotEqualTo(z);
        float[] gate = ((RandomTensor) a.tensors().get("model.layers.1.mlp.gate_proj.weight")).materialize()
                .toFloatArray();
        assertThat(gate).as("each tensor its own stream").isNotEqualTo(x);
        float[] norm = ((RandomTensor) a.tensors().get("model.norm.weight")).materialize().toFloatArray();
        for (float v : norm) {
            assertThat(v).isBetween(0.9f, 1.1f);
        }
    }

    @Test
    void shouldNameTheKeyOfABadSpec() {
        assertThatThrownBy(() -> ModelLoader.load("random:tiny,hiden=3")).hasMessageContaining("hiden");
        assertThatThrownBy(() -> ModelLoader.load("random:tiny,layers=two")).hasMessageContaining("layers=two");
        assertThatThrownBy(() -> ModelLoader.load("random:tiny,dtype=q4")).hasMessageContaining("dtype=q4");
        assertThatThrownBy(() -> ModelLoader.load("random:gpt5")).hasMessageContaining("unknown preset 'gpt5'");
    }
}
