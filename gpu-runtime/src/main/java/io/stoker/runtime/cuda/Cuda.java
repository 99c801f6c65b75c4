package io.stoker.runtime.cuda;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Entry point to CUDA in this JVM: which libraries to use ({@link CudaConfig}), loading them on first use, and
 * device discovery. Nothing is loaded until a method here (or a {@link CudaDevice}) needs it; the driver is
 * loaded and initialised first, cuBLAS(Lt), NVRTC and NCCL only when something asks for them.
 *
 * <p>Thread-safety: all methods may be called from any thread.
 */
public final class Cuda {
    private static final Logger LOG = LoggerFactory.getLogger(Cuda.class);

    private static CudaConfig config;
    private static final Map<CudaLibrary, String> LOADED = new EnumMap<>(CudaLibrary.class);
    private static LibrarySearch search;
    private static Boolean available;

    private Cuda() {
    }

    /**
     * Sets where the libraries come from; only before anything is loaded.
     *
     * @throws IllegalStateException once a CUDA library is loaded
     */
    public static synchronized void configure(CudaConfig c) {
        if (!LOADED.isEmpty()) {
            throw new IllegalStateException("CUDA libraries are already loaded (" + LOADED.values()
                    + "); configure CUDA before the first use");
        }
        config = c;
        search = null;
        available = null;
    }

    /** @return the configuration in force (from system properties and environment unless {@link #configure}d) */
    public static synchronized CudaConfig config() {
        if (config == null) {
            config = CudaConfig.fromEnvironment();
        }
        return config;
    }

    public static boolean isSimulated() {
        return config().mode() == CudaConfig.Mode.SIM;
    }

    /**
     * Loads {@code lib} (and the driver before it) unless loaded.
     *
     * @return the path it was loaded from
     * @throws CudaLibraryException naming the library, the paths tried and how to configure the search
     */
    public static synchronized String load(CudaLibrary lib) {
        String done = LOADED.get(lib);
        if (done != null) {
            return done;
        }
        if (lib != CudaLibrary.DRIVER) {
            load(CudaLibrary.DRIVER);
        }
        if (lib == CudaLibrary.CUBLAS) {
            load(CudaLibrary.CUBLASLT);
        }
        CudaConfig c = config();
        List<String> candidates = candidates(c, lib);
        String path;
        try {
            path = CudaNative.openLibrary(lib.id, candidates.toArray(new String[0]));
        } catch (CudaLibraryException e) {
            throw new CudaLibraryException(e.getMessage() + "\n" + searchAdvice(c), e);
        }
        LOADED.put(lib, path);
        LOG.info("loaded {} from {}", lib.title(), path);
        if (lib == CudaLibrary.DRIVER) {
            CudaNative.init();
            if (c.mode() == CudaConfig.Mode.SIM) {
                c.simOptions().forEach(CudaNative::simSetOption);
                for (Path k : c.simKernelLibraries()) {
                    CudaNative.simLoadKernels(k.toAbsolutePath().toString());
                }
            }
        }
        if (lib == CudaLibrary.NVRTC && c.mode() == CudaConfig.Mode.REAL) {
            preloadNvrtcBuiltins(Paths.get(path));
        }
        return path;
    }

    private static List<String> candidates(CudaConfig c, CudaLibrary lib) {
        if (c.mode() == CudaConfig.Mode.SIM) {
            return List.of(c.simLibrary().toAbsolutePath().toString());
        }
        if (search == null) {
            search = LibrarySearch.of(c);
            LOG.debug("CUDA library search directories: {}", search.directories());
        }
        List<String> sonames = lib.sonames();
        String lt = LOADED.get(CudaLibrary.CUBLASLT);
        if (lib == CudaLibrary.CUBLAS && lt != null) {
            // cuBLAS must match the cuBLASLt already loaded: same major, same directory first
            String major = lt.substring(lt.lastIndexOf(".so.") + 4);
            List<String> ordered = new ArrayList<>();
            Path dir = Paths.get(lt).getParent();
            if (dir != null) {
                Path same = dir.resolve("libcublas.so." + major);
                if (Files.exists(same)) {
                    ordered.add(same.toString());
                }
            }
            for (String s : search.candidates(List.of("libcublas.so." + major))) {
                if (!ordered.contains(s)) {
                    ordered.add(s);
                }
            }
            return ordered;
        }
        return search.candidates(sonames);
    }

    private static String searchAdvice(CudaConfig c) {
        if (c.mode() == CudaConfig.Mode.SIM) {
            return "The simulator library is " + c.simLibrary() + " (stoker.cuda.sim.library); build it with "
                    + "mvn -pl gpu-runtime test-compile.";
        }
        return "Searched " + (search == null ? "[]" : search.directories()) + " and the system library path. Add "
                + "directories with -Dstoker.cuda.libraryPath=DIR[:DIR] (or STOKER_CUDA_LIBRARY_PATH), or install "
                + "the CUDA libraries (e.g. the nvidia-* Python wheels).";
    }

    /** NVRTC loads its builtins library by soname at compile time; load it from NVRTC's own directory first. */
    private static void preloadNvrtcBuiltins(Path nvrtc) {
        Path dir = nvrtc.getParent();
        if (dir == null) {
            return;
        }
        String major = nvrtc.getFileName().toString().replaceAll(".*\\.so\\.(\\d+).*", "$1");
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "libnvrtc-builtins.so." + major + "*")) {
            for (Path p : ds) {
                CudaNative.preload(p.toString());
                LOG.debug("preloaded {}", p);
                return;
            }
        } catch (IOException e) {
            LOG.debug("no NVRTC builtins next to {}: {}", nvrtc, e.toString());
        }
    }

    /**
     * Whether a usable CUDA device is present: loads and initialises the driver, and counts devices. Never throws;
     * the reason for a {@code false} is logged at debug level.
     */
    public static synchronized boolean isAvailable() {
        if (available == null) {
            try {
                load(CudaLibrary.DRIVER);
                available = CudaNative.deviceCount() > 0;
            } catch (RuntimeException | LinkageError e) {
                LOG.debug("CUDA is not available: {}", e.toString());
                available = false;
            }
        }
        return available;
    }

    public static int deviceCount() {
        load(CudaLibrary.DRIVER);
        return CudaNative.deviceCount();
    }

    /** @return e.g. 13000 for CUDA 13.0 */
    public static int driverVersion() {
        load(CudaLibrary.DRIVER);
        return CudaNative.driverVersion();
    }

    /** @return library title to the path it was loaded from, for what is loaded so far */
    public static synchronized Map<String, String> loadedLibraries() {
        Map<String, String> out = new LinkedHashMap<>();
        LOADED.forEach((k, v) -> out.put(k.title(), v));
        return Collections.unmodifiableMap(out);
    }

    /** Properties of device {@code ordinal} (needs no context). */
    public static DeviceProperties properties(int ordinal) {
        load(CudaLibrary.DRIVER);
        int count = CudaNative.deviceCount();
        if (ordinal < 0 || ordinal >= count) {
            throw new IllegalArgumentException("CUDA device " + ordinal + " does not exist; this machine has " + count);
        }
        return DeviceProperties.query(ordinal);
    }

    /** Registers another kernel library with the simulator (sim mode only). */
    public static synchronized void simLoadKernels(Path library) {
        if (!isSimulated()) {
            throw new IllegalStateException("kernel libraries are a simulator feature; stoker.cuda is not 'sim'");
        }
        load(CudaLibrary.DRIVER);
        CudaNative.simLoadKernels(library.toAbsolutePath().toString());
    }

    /** Which library candidate would load, without keeping it loaded (diagnostics). */
    public static String probe(CudaLibrary lib, List<String> candidates) {
        return CudaNative.probeLibrary(lib.id, candidates.toArray(new String[0]));
    }

    /** @return bytes of a {@code CUipcMemHandle} as the shim declares it (64) */
    static int ipcMemHandleSize() {
        return CudaNative.sizeOfIpcMemHandle();
    }

    /** @return bytes of an {@code ncclUniqueId} as the shim declares it (128) */
    static int ncclUniqueIdSize() {
        return CudaNative.sizeOfNcclUniqueId();
    }
}
