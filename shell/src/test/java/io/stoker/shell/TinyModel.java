package io.stoker.shell;

import io.stoker.llm.testkit.RandomModelWriter;
import io.stoker.llm.tensor.DType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A tiny random-weight Llama model (HF directory, tokenizer, ChatML template), written once per build. */
final class TinyModel {
    private static final RandomModelWriter.Spec SPEC = new RandomModelWriter.Spec("LlamaForCausalLM", 64, 128, 2, 4,
            2, 384, 256, false, false, 11);

    private TinyModel() {
    }

    static synchronized String path() {
        Path dir = Path.of("target", "shell-test-model").toAbsolutePath();
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
