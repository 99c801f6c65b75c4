package io.stoker.benchmarks;

import io.stoker.llm.tensor.DType;
import io.stoker.llm.testkit.RandomModelWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** The model files the benchmarks run on: a given path, or a cached random-weight SmolLM-135M-shaped GGUF. */
public final class BenchModels {

    private BenchModels() {
    }

    /**
     * @param model a model path, or {@code random:smollm-135m}
     * @param dtype the random model's weight type: f32, f16 or q8_0
     * @return the path as given, or the cached random model (written on first use)
     */
    public static Path resolve(String model, String dtype) throws IOException {
        if (!model.startsWith("random:")) {
            return Path.of(model);
        }
        if (!model.equals("random:smollm-135m")) {
            throw new IllegalArgumentException("unknown random model '" + model + "' (random:smollm-135m)");
        }
        return randomSmolLm135m(dtype);
    }

    /**
     * The random-weight SmolLM-135M-shaped GGUF for {@code dtype}, cached under {@code -Dstoker.bench.dir}
     * (default {@code target/bench-models}) and shared by every benchmark.
     */
    public static Path randomSmolLm135m(String dtype) throws IOException {
        DType dt = switch (dtype) {
            case "f32" -> DType.F32;
            case "f16" -> DType.F16;
            case "q8_0" -> DType.Q8_0;
            default -> throw new IllegalArgumentException("--dtype " + dtype + " is not one of f32, f16, q8_0");
        };
        Path dir = Path.of(System.getProperty("stoker.bench.dir", "target/bench-models")).toAbsolutePath();
        Path f = dir.resolve("smollm-135m-random-" + dtype + ".gguf");
        if (!Files.exists(f)) {
            Files.createDirectories(dir);
            System.err.println("writing " + f + " ...");
            Path tmp = dir.resolve(f.getFileName() + ".tmp");
            RandomModelWriter.writeGguf(RandomModelWriter.Spec.smolLm135m(), tmp, dt);
            Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING);
        }
        return f;
    }
}
