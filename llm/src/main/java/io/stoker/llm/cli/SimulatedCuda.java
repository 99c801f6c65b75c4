package io.stoker.llm.cli;

import io.stoker.runtime.cuda.Cuda;
import io.stoker.runtime.cuda.CudaConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/**
 * Selects the CUDA simulator for {@code --device cuda-sim}. Kept as it is when the JVM already runs CUDA in sim mode
 * ({@code -Dstoker.cuda=sim} or {@code STOKER_CUDA=sim}); otherwise the simulator and kernel libraries named by
 * {@code stoker.cuda.sim.library} / {@code stoker.cuda.sim.kernels} (or their environment variables), else those the
 * build leaves in {@code llm/target/cudasim} under {@code stoker.root} (set by {@code bin/stoker}). A class of its
 * own so that {@code --device cpu} never loads a CUDA class.
 */
final class SimulatedCuda {
    private SimulatedCuda() {
    }

    /** @throws IllegalArgumentException naming the missing library and how to build it */
    static void select() {
        CudaConfig current = Cuda.config();
        if (current.mode() == CudaConfig.Mode.SIM) {
            return;
        }
        Path dir = Paths.get(System.getProperty("stoker.root", "."), "llm", "target", "cudasim");
        Path library = current.simLibrary() != null ? current.simLibrary() : dir.resolve("libstoker-cudasim.so");
        List<Path> kernels = !current.simKernelLibraries().isEmpty() ? current.simKernelLibraries()
                : List.of(dir.resolve("libllm-kernels.so"));
        List<Path> all = new ArrayList<>(kernels);
        all.add(0, library);
        for (Path p : all) {
            if (!Files.isRegularFile(p)) {
                throw new IllegalArgumentException("--device cuda-sim: the CUDA simulator library " + p + " does not"
                        + " exist; build it with 'mvn -pl llm -am install -DskipTests' (bin/stoker does), or name it"
                        + " with -Dstoker.cuda.sim.library and -Dstoker.cuda.sim.kernels");
            }
        }
        Cuda.configure(CudaConfig.sim(library, kernels));
    }
}
