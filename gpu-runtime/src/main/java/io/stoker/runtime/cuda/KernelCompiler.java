package io.stoker.runtime.cuda;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Compiles {@link CudaProgram}s with NVRTC for one device's architecture: CUBIN for {@code sm_XY} when NVRTC knows
 * the architecture, else PTX for the newest virtual architecture it knows (the driver finishes it). Results are
 * kept in memory and, when a cache directory is set, on disk (files 0600 in a 0700 directory) keyed by a digest of
 * the program, the options, the NVRTC version and the target.
 */
final class KernelCompiler {
    private static final Logger LOG = LoggerFactory.getLogger(KernelCompiler.class);
    private static final List<String> BASE_OPTIONS = List.of("--std=c++17");

    private final Path cacheDir;
    private final Map<String, CompiledKernel> memory = new HashMap<>();

    KernelCompiler(Path cacheDir) {
        this.cacheDir = cacheDir;
    }

    CompiledKernel compile(CudaProgram program, DeviceProperties device) {
        Cuda.load(CudaLibrary.NVRTC);
        int[] version = CudaNative.nvrtcVersion();
        int[] archs = CudaNative.nvrtcSupportedArchs();
        int arch = device.arch();
        String target;
        boolean cubin;
        if (archs == null || contains(archs, arch)) {
            target = "sm_" + arch;
            cubin = true;
        } else {
            int best = -1;
            for (int a : archs) {
                if (a <= arch && a > best) {
                    best = a;
                }
            }
            if (best < 0) {
                throw new CudaLibraryException("NVRTC " + version[0] + "." + version[1] + " supports none of the "
                        + "architectures up to sm_" + arch + " of device " + device.ordinal() + " (" + device.name()
                        + "); use an NVRTC that matches the driver");
            }
            target = "compute_" + best;
            cubin = false;
        }
        List<String> options = new ArrayList<>(BASE_OPTIONS);
        options.add("--gpu-architecture=" + target);
        options.addAll(program.options());
        String key = program.cacheKey() + "-" + version[0] + "." + version[1] + "-" + target;
        CompiledKernel k = memory.get(key);
        if (k != null) {
            return k;
        }
        k = readCache(key, cubin, target);
        if (k == null) {
            long t0 = System.nanoTime();
            String[] names = program.headers().keySet().toArray(new String[0]);
            String[] texts = new String[names.length];
            for (int i = 0; i < names.length; i++) {
                texts[i] = program.headers().get(names[i]);
            }
            Object[] out = CudaNative.nvrtcCompile(program.name(), program.source(), names, texts,
                    options.toArray(new String[0]), cubin);
            k = new CompiledKernel((byte[]) out[0], cubin, target, (String) out[1]);
            LOG.info("compiled {} for {} in {} ms{}", program.name(), target, (System.nanoTime() - t0) / 1_000_000,
                    k.log().isBlank() ? "" : "; NVRTC says: " + k.log().trim());
            writeCache(key, k);
        }
        memory.put(key, k);
        return k;
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    private Path file(String key, boolean cubin) {
        return cacheDir.resolve(key + (cubin ? ".cubin" : ".ptx"));
    }

    private CompiledKernel readCache(String key, boolean cubin, String target) {
        if (cacheDir == null) {
            return null;
        }
        Path f = file(key, cubin);
        try {
            if (Files.isRegularFile(f)) {
                LOG.debug("kernel cache hit {}", f);
                return new CompiledKernel(Files.readAllBytes(f), cubin, target, "");
            }
        } catch (IOException e) {
            LOG.warn("cannot read cached kernel {}: {}", f, e.toString());
        }
        return null;
    }

    private void writeCache(String key, CompiledKernel k) {
        if (cacheDir == null) {
            return;
        }
        try {
            if (!Files.isDirectory(cacheDir)) {
                Files.createDirectories(cacheDir,
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            Path tmp = Files.createTempFile(cacheDir, "k", ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(tmp, k.image());
            Files.move(tmp, file(key, k.cubin()), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | UnsupportedOperationException e) {
            LOG.warn("cannot cache a compiled kernel in {}: {}", cacheDir, e.toString());
        }
    }

    static String describe(byte[] image) {
        return new String(image, 0, Math.min(image.length, 64), StandardCharsets.ISO_8859_1);
    }
}
