package io.stoker.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The demo model bundled in this jar: a 0.85M-parameter Llama trained by {@code llm/src/demo-model/train.py} to
 * answer short number-comparison and word questions (see {@code docs/llm.md}, "The bundled demo model"). Pass
 * {@value #NAME} as the model location ({@code ModelLoader.load("demo")}); a local directory called {@code demo}
 * is then {@code ./demo}.
 *
 * <p>Weights are memory-mapped, so the files are extracted from the classpath to a real directory once per JVM:
 * {@code ${stoker.model.cache}/demo-<sha256 prefix>/} (default {@code java.io.tmpdir/stoker-models}). The name is
 * derived from the content, so a new model never reuses an old directory. Extraction writes a private temporary
 * directory and renames it into place atomically, so concurrent JVMs and threads never see a partial model; an
 * existing directory is compared byte for byte with the bundled files and replaced when it differs.
 *
 * <p>Thread-safety: all methods are thread-safe.
 */
public final class DemoModel {
    /** The model location that names the bundled demo model. */
    public static final String NAME = "demo";
    static final String RESOURCES = "io/stoker/llm/demo-model/";
    /** The files of the Hugging Face directory, in digest order. */
    static final List<String> FILES = List.of("config.json", "generation_config.json", "model.safetensors",
            "tokenizer.json", "tokenizer_config.json");
    static final String HELD_OUT = "heldout.jsonl";
    private static final Logger LOG = LoggerFactory.getLogger(DemoModel.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path extracted;

    /**
     * A held-out question: generated with a different seed than the training data and never trained on.
     *
     * @param task     the task family (add, sub, reverse, ...)
     * @param system   the system prompt it was asked with, or null
     * @param question the user message
     * @param answer   the exact expected answer (the model's whole reply)
     */
    public record Question(String task, String system, String question, String answer) {
        /** @return whether {@code generated} is exactly the answer */
        public boolean isCorrect(String generated) {
            return answer.equals(generated);
        }
    }

    private DemoModel() {
    }

    /** @return whether {@code location} names the bundled demo model */
    public static boolean isDemo(String location) {
        return NAME.equals(location);
    }

    /**
     * @return the local directory holding the demo model, extracting it on the first call in this JVM
     * @throws UncheckedIOException when the cache directory cannot be written (names it and the property to set)
     */
    public static synchronized Path directory() {
        if (extracted == null) {
            Path root = Paths.get(System.getProperty("stoker.model.cache",
                    Paths.get(System.getProperty("java.io.tmpdir"), "stoker-models").toString()));
            extracted = extract(root);
        }
        return extracted;
    }

    /**
     * Extracts the bundled files under {@code root} unless an identical copy is there. Safe to run concurrently from
     * several JVMs (and, without the per-JVM cache of {@link #directory()}, threads) on the same root.
     *
     * @return {@code root/demo-<sha256 prefix>}
     */
    static Path extract(Path root) {
        Map<String, byte[]> files = bundledFiles();
        Path target = root.resolve("demo-" + digest(files));
        try {
            if (matches(target, files)) {
                return target;
            }
            Files.createDirectories(root);
            if (Files.exists(target)) {
                // A copy that differs from the jar (truncated, edited): move it aside; JVMs still mapping it keep
                // their mappings.
                Path aside = Files.createTempDirectory(root, target.getFileName() + ".stale-");
                moveQuietly(target, aside.resolve("model"));
                LOG.warn("{} differed from the bundled demo model; moved it to {}", target, aside);
            }
            Path tmp = Files.createTempDirectory(root, target.getFileName() + ".tmp-");
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                Files.write(tmp.resolve(e.getKey()), e.getValue());
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                LOG.info("extracted the bundled demo model to {}", target);
            } catch (AtomicMoveNotSupportedException e) {
                deleteTree(tmp);
                throw e;
            } catch (FileSystemException e) {
                // another JVM or thread renamed its copy first
                deleteTree(tmp);
                if (!matches(target, files)) {
                    throw e;
                }
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract the bundled demo model to " + target + ": " + e
                    + "; set -Dstoker.model.cache to a writable local directory", e);
        }
    }

    /** @return the held-out evaluation set bundled next to the model (200 questions) */
    public static List<Question> heldOut() {
        String text = new String(resource(HELD_OUT), StandardCharsets.UTF_8);
        List<Question> out = new ArrayList<>();
        int line = 0;
        for (String l : text.split("\n")) {
            line++;
            if (l.isBlank()) {
                continue;
            }
            try {
                JsonNode n = JSON.readTree(l);
                out.add(new Question(n.get("task").asText(), n.path("system").isTextual() ? n.get("system").asText()
                        : null, n.get("question").asText(), n.get("answer").asText()));
            } catch (IOException | NullPointerException e) {
                throw new IllegalStateException(RESOURCES + HELD_OUT + " line " + line + " is malformed: " + e
                        + "; regenerate it with llm/src/demo-model/train.py", e);
            }
        }
        return out;
    }

    private static Map<String, byte[]> bundledFiles() {
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (String f : FILES) {
            files.put(f, resource(f));
        }
        return files;
    }

    private static byte[] resource(String name) {
        try (InputStream in = DemoModel.class.getClassLoader().getResourceAsStream(RESOURCES + name)) {
            if (in == null) {
                throw new IllegalStateException("the demo model file " + RESOURCES + name + " is not on the"
                        + " classpath; use a stoker-llm jar built with its resources");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCES + name + " from the classpath: " + e, e);
        }
    }

    private static String digest(Map<String, byte[]> files) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(Long.toString(e.getValue().length).getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(e.getValue());
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean matches(Path dir, Map<String, byte[]> files) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            Path f = dir.resolve(e.getKey());
            if (!Files.isRegularFile(f) || Files.size(f) != e.getValue().length
                    || !Arrays.equals(Files.readAllBytes(f), e.getValue())) {
                return false;
            }
        }
        return true;
    }

    private static void moveQuietly(Path from, Path to) {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.debug("could not move {} aside (another JVM may have): {}", from, e.toString());
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    LOG.debug("cannot delete {}: {}", p, e.toString());
                }
            });
        } catch (IOException e) {
            LOG.debug("cannot delete {}: {}", dir, e.toString());
        }
    }
}
