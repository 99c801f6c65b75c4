package io.stoker.llm.load;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.ModelLoader;
import io.stoker.llm.TestModels;
import io.stoker.llm.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Models behind Hadoop-FS URIs are copied once into a local cache (here through Hadoop's LocalFileSystem). */
class HadoopFetchTest {
    @TempDir
    Path cache;

    @Test
    void shouldCopyADirectoryThroughHadoopOnceAndLoadIt() {
        Path src = TestModels.hf(TestModels.GQA1, DType.F32);
        Path local = HadoopFetch.fetch(src.toUri(), cache);
        assertThat(local.resolve("config.json")).exists();
        assertThat(local.resolve("model.safetensors")).hasSameBinaryContentAs(src.resolve("model.safetensors"));
        assertThat(HadoopFetch.fetch(src.toUri(), cache)).as("cached").isEqualTo(local);
        try (LoadedModel m = ModelLoader.load(local.toString())) {
            assertThat(m.config().hiddenSize()).isEqualTo(96);
        }
    }

    @Test
    void shouldCopyASingleGgufFile() throws Exception {
        Path src = TestModels.gguf(TestModels.GQA1, DType.Q8_0);
        Path local = HadoopFetch.fetch(src.toUri(), cache);
        assertThat(Files.size(local)).isEqualTo(Files.size(src));
    }
}
