package io.stoker.llm.load;

import io.stoker.llm.tensor.Tensor;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The tensors of one model, by Hugging Face name, memory-mapped from their files (or, for a {@code random:} model, generated where a backend needs them). Mappings are released by the
 * garbage collector once no tensor refers to them (explicit unmapping would crash readers that are still running).
 *
 * <p>Thread-safety: immutable after loading.
 */
public final class TensorStore {
    private final Map<String, Tensor> tensors;
    private final Map<String, Path> files;
    private final String description;
    private final java.util.function.UnaryOperator<String> storedName;

    public TensorStore(Map<String, ? extends Tensor> tensors, Map<String, Path> files, String description) {
        this(tensors, files, description, n -> n);
    }

    /**
     * @param storedName maps a Hugging Face name to the name the file uses (GGUF aliases), for error messages
     */
    public TensorStore(Map<String, ? extends Tensor> tensors, Map<String, Path> files, String description,
                       java.util.function.UnaryOperator<String> storedName) {
        this.tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        this.files = Collections.unmodifiableMap(new LinkedHashMap<>(files));
        this.description = description;
        this.storedName = storedName;
    }

    private String label(String name) {
        String s = storedName.apply(name);
        return s == null || s.equals(name) ? "'" + name + "'" : "'" + name + "' (stored as '" + s + "')";
    }

    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    public Set<String> names() {
        return tensors.keySet();
    }

    /**
     * @throws ModelFormatException naming the tensor and the model when it is absent
     */
    public Tensor get(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new ModelFormatException("tensor " + label(name) + " is missing from " + description
                    + "; the checkpoint is incomplete or not of the architecture its config names");
        }
        return t;
    }

    /**
     * @throws ModelFormatException naming the tensor, file and both shapes when the shape differs
     */
    public Tensor get(String name, long... expectedShape) {
        Tensor t = get(name);
        if (!Arrays.equals(t.shape(), expectedShape)) {
            throw new ModelFormatException("tensor " + label(name) + " in " + fileOf(name) + " has shape "
                    + Arrays.toString(t.shape()) + " but the config implies " + Arrays.toString(expectedShape)
                    + "; the weights do not match config.json");
        }
        return t;
    }

    /** @return the file a tensor was read from (for error messages) */
    public Path fileOf(String name) {
        return files.get(name);
    }

    public long totalBytes() {
        long n = 0;
        for (Tensor t : tensors.values()) {
            n += t.dtype().bytesFor(t.elements());
        }
        return n;
    }

    @Override
    public String toString() {
        return description;
    }
}
