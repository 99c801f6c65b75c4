package io.stoker.llm.backend;

import io.stoker.llm.backend.cpu.CpuBackend;
import io.stoker.runtime.channel.IdleKind;

/** Creates a backend by name; the one place a new backend (e.g. {@code cuda}) is wired in. */
public final class Backends {
    private Backends() {
    }

    /**
     * @param name    {@code cpu}; {@code cuda} (device 0) or {@code cuda:ADDRESS} (a GPU address as Spark assigns them,
     *                mapped through {@code CUDA_VISIBLE_DEVICES}): the device is opened on the calling thread, which
     *                must be the one that runs the backend
     * @param threads worker threads for the CPU kernels
     * @param idle    how the backend's threads wait between kernels
     * @throws IllegalArgumentException naming the backend when it is unknown
     */
    public static Backend create(String name, int threads, IdleKind idle) {
        if ("cpu".equals(name)) {
            return new CpuBackend(threads, idle);
        }
        if (isCuda(name)) {
            // named here only: the CUDA classes load when a CUDA backend is asked for
            return io.stoker.llm.backend.cuda.CudaBackend.open(cudaAddress(name));
        }
        throw new IllegalArgumentException("backend '" + name + "' is not available; use cpu, cuda or cuda:N");
    }

    /** @return true for {@code cuda} and {@code cuda:ADDRESS} */
    public static boolean isCuda(String name) {
        return name != null && (name.equals("cuda") || (name.startsWith("cuda:") && name.length() > 5));
    }

    /** @return the GPU address of a CUDA backend name ({@code cuda} is device 0) */
    public static String cudaAddress(String name) {
        return name.equals("cuda") ? "0" : name.substring("cuda:".length());
    }

    /**
     * Checks a backend name without creating anything.
     *
     * @throws IllegalArgumentException naming the setting and the valid names
     */
    public static void validate(String name) {
        if (!"cpu".equals(name) && !isCuda(name)) {
            throw new IllegalArgumentException("backend=" + name + " is not available; use cpu, cuda or cuda:N (a GPU"
                    + " address)");
        }
    }
}
