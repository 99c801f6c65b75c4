package io.stoker.llm;

import io.stoker.llm.testkit.RandomModelWriter;
import io.stoker.llm.testkit.RandomModelWriter.Spec;
import io.stoker.llm.tensor.DType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Random-weight models written once per build under {@code target/test-models}. */
public final class TestModels {
    private static final Path ROOT = Paths.get("target", "test-models").toAbsolutePath();

    /** GQA 1 (4 heads, 4 kv heads), hidden 96, untied. */
    public static final Spec GQA1 = new Spec("LlamaForCausalLM", 96, 160, 2, 4, 4, 512, 256, false, false, 1);
    /** GQA 2 (10 heads of 16, 5 kv heads), hidden 160, tied (Mistral). */
    public static final Spec GQA2 = new Spec("MistralForCausalLM", 160, 96, 2, 10, 5, 512, 256, true, false, 2);
    /** GQA 4 (8 heads of 72, 2 kv heads), hidden 576, Qwen2 with qkv bias, tied. */
    public static final Spec QWEN = new Spec("Qwen2ForCausalLM", 576, 96, 2, 8, 2, 512, 256, true, false, 3);
    /** Llama 3 rope scaling, GQA 4 (4 heads of 32, 1 kv head), untied. */
    public static final Spec LLAMA3 = new Spec("LlamaForCausalLM", 128, 256, 2, 4, 1, 512, 256, false, true, 4);
    /** A small model for engine tests (batching, preemption, TP/PP): 4 heads, 2 kv heads, 4 layers. */
    public static final Spec ENGINE = new Spec("LlamaForCausalLM", 64, 128, 4, 4, 2, 384, 512, false, false, 5);

    private TestModels() {
    }

    public static synchronized Path hf(Spec s, DType dtype) {
        Path dir = ROOT.resolve(key(s) + "-hf-" + dtype);
        if (!Files.exists(dir.resolve("tokenizer_config.json"))) {
            try {
                RandomModelWriter.writeHf(s, dir, dtype);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return dir;
    }

    public static synchronized Path gguf(Spec s, DType dtype) {
        Path f = ROOT.resolve(key(s) + "-" + dtype + ".gguf");
        if (!Files.exists(f)) {
            try {
                Path tmp = ROOT.resolve(key(s) + "-" + dtype + ".gguf.tmp");
                RandomModelWriter.writeGguf(s, tmp, dtype);
                Files.move(tmp, f);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return f;
    }

    static String key(Spec s) {
        return s.architecture().replace("ForCausalLM", "").toLowerCase() + "-h" + s.hidden() + "-l" + s.layers()
                + "-a" + s.heads() + "-kv" + s.kvHeads() + "-v" + s.vocab() + (s.tied() ? "-tied" : "")
                + (s.llama3Rope() ? "-llama3" : "") + "-s" + s.seed();
    }
}
