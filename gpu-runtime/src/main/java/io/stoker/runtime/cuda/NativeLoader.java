package io.stoker.runtime.cuda;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Loads the JNI shim once: from {@code stoker.cuda.shim} (a path, for development) or else extracted from the jar
 * ({@code native/linux-x86_64/libstoker-cuda.so}) into a private temporary directory.
 */
final class NativeLoader {
    private static final Logger LOG = LoggerFactory.getLogger(NativeLoader.class);
    static final String RESOURCE = "/native/linux-x86_64/libstoker-cuda.so";
    private static volatile boolean loaded;

    private NativeLoader() {
    }

    static synchronized void load() {
        if (loaded) {
            return;
        }
        String os = System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new CudaLibraryException("Stoker's CUDA shim is built for linux-x86_64 only; this JVM runs on "
                    + os + "/" + arch);
        }
        String override = System.getProperty("stoker.cuda.shim");
        Path path;
        try {
            path = override != null && !override.isBlank() ? Paths.get(override) : extract();
        } catch (IOException e) {
            throw new CudaLibraryException("could not extract the CUDA shim " + RESOURCE + ": " + e.getMessage(), e);
        }
        try {
            System.load(path.toAbsolutePath().toString());
        } catch (UnsatisfiedLinkError e) {
            throw new CudaLibraryException("could not load the CUDA shim " + path + ": " + e.getMessage(), e);
        }
        LOG.debug("loaded CUDA shim {}", path);
        loaded = true;
    }

    private static Path extract() throws IOException {
        try (InputStream in = NativeLoader.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new CudaLibraryException("the CUDA shim " + RESOURCE + " is not on the classpath; build "
                        + "gpu-runtime with gcc available (mvn package) or set -Dstoker.cuda.shim=<path>");
            }
            Path dir = Files.createTempDirectory("stoker-cuda-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Path file = dir.resolve("libstoker-cuda.so");
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            file.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
            return file;
        }
    }

    /** @return true once the shim is loaded in this JVM (never loads it) */
    static boolean isLoaded() {
        return loaded;
    }
}
