package io.stoker.runtime.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * CUDA C++ source for NVRTC: a name (e.g. {@code llm_kernels.cu}), the source text, named headers it includes and
 * extra compiler options. Every program gets Stoker's device prelude as header {@code stoker_device.h}. Immutable.
 *
 * <p>On the simulator the same text must match a kernel library built from the same file (see docs/cuda.md).
 */
public record CudaProgram(String name, String source, Map<String, String> headers, List<String> options) {
    /** The prelude header every program may include. */
    public static final String PRELUDE = "stoker_device.h";

    public CudaProgram {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("program name must not be blank");
        }
        if (source == null || source.isEmpty()) {
            throw new IllegalArgumentException("program '" + name + "' has no source");
        }
        Map<String, String> h = new LinkedHashMap<>();
        h.put(PRELUDE, prelude());
        h.putAll(headers);
        headers = Map.copyOf(h);
        options = List.copyOf(options);
    }

    /** A program read from a classpath resource of {@code anchor}'s class loader; named after the file. */
    public static CudaProgram fromResource(Class<?> anchor, String resource) {
        String name = resource.substring(resource.lastIndexOf('/') + 1);
        return new CudaProgram(name, readResource(anchor, resource), Map.of(), List.of());
    }

    public CudaProgram withOptions(List<String> extra) {
        List<String> all = new java.util.ArrayList<>(options);
        all.addAll(extra);
        return new CudaProgram(name, source, headers, all);
    }

    static String prelude() {
        return readResource(CudaProgram.class, "/io/stoker/runtime/cuda/" + PRELUDE);
    }

    static String readResource(Class<?> anchor, String resource) {
        try (InputStream in = anchor.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("CUDA source " + resource + " is not on the classpath of "
                        + anchor.getName());
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read CUDA source " + resource, e);
        }
    }

    /** A digest of everything that shapes the compiled code (the target architecture is added by the compiler). */
    String cacheKey() {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            update(md, name);
            update(md, source);
            for (Map.Entry<String, String> e : new TreeMap<>(headers).entrySet()) {
                update(md, e.getKey());
                update(md, e.getValue());
            }
            for (String o : options) {
                update(md, o);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void update(MessageDigest md, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        md.update((byte) (b.length >>> 24));
        md.update((byte) (b.length >>> 16));
        md.update((byte) (b.length >>> 8));
        md.update((byte) b.length);
        md.update(b);
    }
}
