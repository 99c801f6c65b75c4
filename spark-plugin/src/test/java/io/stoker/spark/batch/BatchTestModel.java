package io.stoker.spark.batch;

import io.stoker.llm.testkit.RandomModelWriter;
import io.stoker.llm.tensor.DType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one place the batch tests get a model: a tiny random-weight Llama (HF directory with tokenizer and ChatML
 * template), written once per build. (RandomModelWriter may move to a test jar; only this class would change.)
 */
final class BatchTestModel {
    private static final RandomModelWriter.Spec SPEC = new RandomModelWriter.Spec("LlamaForCausalLM", 64, 128, 2, 4, 2,
            384, 256, false, false, 11);

    private BatchTestModel() {
    }

    static synchronized String path() {
        Path dir = Path.of("target", "batch-test-model").toAbsolutePath();
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
