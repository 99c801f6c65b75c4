package io.stoker.spark.llm;

import io.stoker.llm.testkit.RandomModelWriter;
import io.stoker.llm.tensor.DType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A tiny random-weight Llama model (HF directory with tokenizer and ChatML template) written once per build. */
public final class TinyModels {
    static final RandomModelWriter.Spec SPEC = new RandomModelWriter.Spec("LlamaForCausalLM", 64, 128, 2, 4, 2, 384,
            256, false, false, 11);

    private TinyModels() {
    }

    public static synchronized String path() {
        Path dir = Path.of("target", "llm-test-model").toAbsolutePath();
        if (!Files.exists(dir.resolve("tokenizer_config.json"))) {
            try {
                RandomModelWriter.writeHf(SPEC, dir, DType.F32);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return dir.toString();
    }
}
