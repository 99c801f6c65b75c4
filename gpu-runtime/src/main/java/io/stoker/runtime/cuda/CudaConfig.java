package io.stoker.runtime.cuda;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where the CUDA libraries come from. Immutable.
 *
 * <p>Real mode (default) searches, in order: the {@code libraryDirs}, the {@code nvidia/*}{@code /lib} directories
 * of the Python site-packages found on this machine (CUDA wheels put cuBLAS, NVRTC and NCCL there), then the
 * system loader's path ({@code LD_LIBRARY_PATH}, ldconfig). cuBLAS(Lt) and NVRTC are tried as {@code .so.13}, then
 * {@code .so.12}.
 *
 * <p>Sim mode loads the CUDA simulator ({@code simLibrary}, built from gpu-runtime's test sources) as the driver,
 * cuBLAS(Lt) and NVRTC, and registers the kernel libraries {@code simKernelLibraries} (the project's .cu sources
 * compiled as C++).
 *
 * <p>Read from system properties, else environment variables:
 * <pre>
 *  stoker.cuda                 STOKER_CUDA                 real | sim                 (default real)
 *  stoker.cuda.libraryPath     STOKER_CUDA_LIBRARY_PATH    directories, ':'-separated
 *  stoker.cuda.searchPython    STOKER_CUDA_SEARCH_PYTHON   true | false               (default true)
 *  stoker.cuda.sim.library     STOKER_CUDA_SIM_LIBRARY     path of libstoker-cudasim.so
 *  stoker.cuda.sim.kernels     STOKER_CUDA_SIM_KERNELS     kernel libraries, ':'-separated
 *  stoker.cuda.sim.option.NAME                             simulator options: devices, memory_bytes, sms,
 *                                                          compute_capability, barrier_timeout_ms
 * </pre>
 *
 * @param mode               real CUDA or the simulator
 * @param libraryDirs        directories searched first (real mode)
 * @param searchPython       whether to search Python site-packages (real mode)
 * @param simLibrary         the simulator library (sim mode)
 * @param simKernelLibraries kernel libraries to register with the simulator
 * @param simOptions         simulator options, applied before first use
 */
public record CudaConfig(Mode mode, List<Path> libraryDirs, boolean searchPython, Path simLibrary,
                         List<Path> simKernelLibraries, Map<String, String> simOptions) {

    /** Real CUDA libraries, or the CPU simulator. */
    public enum Mode { REAL, SIM }

    public CudaConfig {
        if (mode == null) {
            throw new IllegalArgumentException("mode must not be null");
        }
        libraryDirs = List.copyOf(libraryDirs);
        simKernelLibraries = List.copyOf(simKernelLibraries);
        simOptions = Map.copyOf(simOptions);
        if (mode == Mode.SIM && simLibrary == null) {
            throw new IllegalArgumentException("stoker.cuda=sim needs stoker.cuda.sim.library (or "
                    + "STOKER_CUDA_SIM_LIBRARY): the simulator built by gpu-runtime's tests, "
                    + "gpu-runtime/target/cudasim/libstoker-cudasim.so");
        }
    }

    /** Real CUDA from the default search path. */
    public static CudaConfig real() {
        return new CudaConfig(Mode.REAL, List.of(), true, null, List.of(), Map.of());
    }

    /** The simulator at {@code library} with the given kernel libraries. */
    public static CudaConfig sim(Path library, List<Path> kernels) {
        return new CudaConfig(Mode.SIM, List.of(), false, library, kernels, Map.of());
    }

    public CudaConfig withSimOption(String name, String value) {
        Map<String, String> o = new LinkedHashMap<>(simOptions);
        o.put(name, value);
        return new CudaConfig(mode, libraryDirs, searchPython, simLibrary, simKernelLibraries, o);
    }

    /** From this JVM's system properties, else its environment. */
    public static CudaConfig fromEnvironment() {
        Map<String, String> props = new LinkedHashMap<>();
        for (String name : System.getProperties().stringPropertyNames()) {
            if (name.startsWith("stoker.cuda")) {
                props.put(name, System.getProperty(name));
            }
        }
        return from(props, System.getenv());
    }

    /** From explicit properties and environment (see the class comment for the names). */
    public static CudaConfig from(Map<String, String> props, Map<String, String> env) {
        String modeText = pick(props, env, "stoker.cuda", "STOKER_CUDA", "real").trim().toLowerCase(Locale.ROOT);
        Mode mode;
        if (modeText.equals("real") || modeText.isEmpty()) {
            mode = Mode.REAL;
        } else if (modeText.equals("sim")) {
            mode = Mode.SIM;
        } else {
            throw new IllegalArgumentException("stoker.cuda=" + modeText + " must be 'real' or 'sim'");
        }
        List<Path> dirs = paths(pick(props, env, "stoker.cuda.libraryPath", "STOKER_CUDA_LIBRARY_PATH", ""));
        String python = pick(props, env, "stoker.cuda.searchPython", "STOKER_CUDA_SEARCH_PYTHON", "true").trim();
        if (!python.equals("true") && !python.equals("false")) {
            throw new IllegalArgumentException("stoker.cuda.searchPython=" + python + " must be true or false");
        }
        String sim = pick(props, env, "stoker.cuda.sim.library", "STOKER_CUDA_SIM_LIBRARY", "").trim();
        List<Path> kernels = paths(pick(props, env, "stoker.cuda.sim.kernels", "STOKER_CUDA_SIM_KERNELS", ""));
        Map<String, String> options = new LinkedHashMap<>();
        props.forEach((k, v) -> {
            if (k.startsWith("stoker.cuda.sim.option.")) {
                options.put(k.substring("stoker.cuda.sim.option.".length()), v);
            }
        });
        return new CudaConfig(mode, dirs, Boolean.parseBoolean(python), sim.isEmpty() ? null : Paths.get(sim), kernels,
                options);
    }

    private static String pick(Map<String, String> props, Map<String, String> env, String prop, String var,
                               String fallback) {
        String v = props.get(prop);
        if (v == null) {
            v = env.get(var);
        }
        return v == null ? fallback : v;
    }

    private static List<Path> paths(String list) {
        List<Path> out = new ArrayList<>();
        for (String p : list.split(":")) {
            if (!p.isBlank()) {
                out.add(Paths.get(p.trim()));
            }
        }
        return out;
    }
}
