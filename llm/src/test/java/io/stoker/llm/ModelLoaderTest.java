package io.stoker.llm;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.LocalExecutor;
import io.stoker.llm.testkit.GgufWriter;
import io.stoker.llm.load.ModelFormatException;
import io.stoker.llm.testkit.RandomModelWriter;
import io.stoker.llm.testkit.SafetensorsWriter;
import io.stoker.llm.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bad model files fail with errors that name the file, tensor or field. */
class ModelLoaderTest {
    @TempDir
    Path tmp;

    private Path copyHf() throws IOException {
        Path src = TestModels.hf(TestModels.GQA1, DType.F32);
        Path dst = tmp.resolve("model");
        Files.createDirectories(dst);
        try (Stream<Path> s = Files.list(src)) {
            for (Path f : (Iterable<Path>) s::iterator) {
                Files.copy(f, dst.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return dst;
    }

    private static EngineConfig cfg() {
        return EngineConfig.defaults().withThreads(1).withKvCacheBytes(1 << 20);
    }

    private static void loadAndBuild(String location) {
        try (LoadedModel m = ModelLoader.load(location); LocalExecutor ex = new LocalExecutor(m, cfg())) {
            assertThat(ex.numBlocks()).isPositive();
        }
    }

    @Test
    void shouldLoadHfDirectoryAndGgufAndSameUriAsFileUri() {
        Path hf = TestModels.hf(TestModels.GQA1, DType.F32);
        try (LoadedModel m = ModelLoader.load(hf.toUri().toString())) {
            assertThat(m.format()).isEqualTo("hf");
            assertThat(m.config().numKeyValueHeads()).isEqualTo(4);
            assertThat(m.eosTokenIds()).contains(2);
        }
        try (LoadedModel m = ModelLoader.load(TestModels.gguf(TestModels.GQA1, DType.Q8_0).toString())) {
            assertThat(m.format()).isEqualTo("gguf");
            assertThat(m.config().ropeInterleaved()).isTrue();
            assertThat(m.tensors().get("model.layers.0.mlp.up_proj.weight").dtype()).isEqualTo(DType.Q8_0);
        }
    }

    @Test
    void shouldLoadShardedSafetensorsThroughTheIndexWithIdenticalLogits() throws IOException {
        Path dir = copyHf();
        Files.delete(dir.resolve("model.safetensors"));
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, float[]> w = RandomModelWriter.weights(TestModels.GQA1, shapes);
        SafetensorsWriter a = new SafetensorsWriter();
        SafetensorsWriter b = new SafetensorsWriter();
        ObjectMapper m = new ObjectMapper();
        ObjectNode index = m.createObjectNode();
        ObjectNode map = index.putObject("weight_map");
        int i = 0;
        for (Map.Entry<String, float[]> e : w.entrySet()) {
            boolean first = i++ % 2 == 0;
            (first ? a : b).add(e.getKey(), e.getValue(), shapes.get(e.getKey()));
            map.put(e.getKey(), first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
        }
        a.write(dir.resolve("model-00001-of-00002.safetensors"), DType.F32);
        b.write(dir.resolve("model-00002-of-00002.safetensors"), DType.F32);
        m.writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
        LlamaReferenceTest.Run sharded = LlamaReferenceTest.run(dir.toString(), 4);
        LlamaReferenceTest.Run single = LlamaReferenceTest.run(TestModels.hf(TestModels.GQA1, DType.F32).toString(), 4);
        assertThat(sharded.logits()).isDeepEqualTo(single.logits());
        assertThat(sharded.greedy()).containsExactly(single.greedy());
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        assertThatThrownBy(() -> ModelLoader.load(dir.toString())).hasMessageContaining(
                "lists shard 'model-00002-of-00002.safetensors', which is missing");
    }

    @Test
    void shouldRejectCorruptSafetensorsHeaderNamingTheFile() throws IOException {
        Path dir = copyHf();
        Path st = dir.resolve("model.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(st.toFile(), "rw")) {
            f.seek(8);
            f.write("garbage!".getBytes());
        }
        assertThatThrownBy(() -> ModelLoader.load(dir.toString())).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(st.toString()).hasMessageContaining("corrupt safetensors header");
        try (RandomAccessFile f = new RandomAccessFile(st.toFile(), "rw")) {
            f.seek(0);
            f.write(new byte[]{(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0, 0, 0, 0});
        }
        assertThatThrownBy(() -> ModelLoader.load(dir.toString())).hasMessageContaining("header length");
    }

    @Test
    void shouldRejectTruncatedSafetensorsNamingTheTensor() throws IOException {
        Path dir = copyHf();
        Path st = dir.resolve("model.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(st.toFile(), "rw")) {
            f.setLength(f.length() - 100);
        }
        assertThatThrownBy(() -> ModelLoader.load(dir.toString())).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("lm_head.weight").hasMessageContaining("truncated");
    }

    @Test
    void shouldRejectMissingAndMisShapedTensors() throws IOException {
        Path dir = copyHf();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, float[]> w = RandomModelWriter.weights(TestModels.GQA1, shapes);
        SafetensorsWriter sw = new SafetensorsWriter();
        w.forEach((k, v) -> {
            if (!k.equals("model.layers.1.mlp.up_proj.weight")) {
                sw.add(k, v, shapes.get(k));
            }
        });
        sw.write(dir.resolve("model.safetensors"), DType.F32);
        assertThatThrownBy(() -> loadAndBuild(dir.toString())).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("tensor 'model.layers.1.mlp.up_proj.weight' is missing");

        SafetensorsWriter bad = new SafetensorsWriter();
        w.forEach((k, v) -> bad.add(k, v, k.equals("model.layers.0.mlp.gate_proj.weight")
                ? new long[]{shapes.get(k)[1], shapes.get(k)[0]} : shapes.get(k)));
        bad.write(dir.resolve("model.safetensors"), DType.F32);
        assertThatThrownBy(() -> loadAndBuild(dir.toString())).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.layers.0.mlp.gate_proj.weight").hasMessageContaining("[96, 160]")
                .hasMessageContaining("config implies");
    }

    @Test
    void shouldRejectUnknownArchitectureAndBadConfigFields() throws IOException {
        Path dir = copyHf();
        ObjectMapper m = new ObjectMapper();
        ObjectNode c = (ObjectNode) m.readTree(dir.resolve("config.json").toFile());
        c.putArray("architectures").add("GPTNeoXForCausalLM");
        m.writeValue(dir.resolve("config.json").toFile(), c);
        assertThatThrownBy(() -> ModelLoader.load(dir.toString())).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("architecture 'GPTNeoXForCausalLM' is not supported");
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("num_key_value_heads", 3);
        m.writeValue(dir.resolve("config.json").toFile(), c);
        assertThatThrownBy(() -> ModelLoader.load(dir.toString()))
                .hasMessageContaining("num_attention_heads=4 is not a multiple of num_key_value_heads=3");
        c.remove("hidden_size");
        m.writeValue(dir.resolve("config.json").toFile(), c);
        assertThatThrownBy(() -> ModelLoader.load(dir.toString())).hasMessageContaining("'hidden_size' is missing");
    }

    @Test
    void shouldRejectCorruptGgufNamingTheFile() throws IOException {
        Path g = tmp.resolve("m.gguf");
        Files.copy(TestModels.gguf(TestModels.GQA1, DType.F32), g);
        try (RandomAccessFile f = new RandomAccessFile(g.toFile(), "rw")) {
            f.setLength(f.length() - 64);
        }
        assertThatThrownBy(() -> ModelLoader.load(g.toString())).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(g.toString()).hasMessageContaining("extends past the end of the file");
        try (RandomAccessFile f = new RandomAccessFile(g.toFile(), "rw")) {
            f.seek(0);
            f.write("GGML".getBytes());
        }
        assertThatThrownBy(() -> ModelLoader.load(g.toString())).hasMessageContaining("not a GGUF file");
        try (RandomAccessFile f = new RandomAccessFile(g.toFile(), "rw")) {
            f.seek(0);
            f.write("GGUF".getBytes());
            f.setLength(200);
        }
        assertThatThrownBy(() -> ModelLoader.load(g.toString())).hasMessageContaining("corrupt GGUF header");
    }

    @Test
    void shouldRejectGgufWithUnknownArchitecture() throws IOException {
        Path g = tmp.resolve("falcon.gguf");
        new GgufWriter().putString("general.architecture", "falcon").addTensor("x", new float[4], DType.F32, 4).write(g);
        assertThatThrownBy(() -> ModelLoader.load(g.toString())).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("general.architecture 'falcon' is not supported");
    }

    @Test
    void shouldRejectMissingModelLocation() {
        assertThatThrownBy(() -> ModelLoader.load(tmp.resolve("nope").toString()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not exist");
    }
}
