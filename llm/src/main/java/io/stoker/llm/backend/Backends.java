package io.stoker.llm.backend;

import io.stoker.llm.backend.cpu.CpuBackend;

/** Creates a backend by name; the one place a new backend (e.g. {@code cuda}) is wired in. */
public final class Backends {
    private Backends() {
    }

    /**
     * @param name    {@code cpu}
     * @param threads worker threads for the CPU kernels
     * @throws IllegalArgumentException naming the backend when it is unknown
     */
    public static Backend create(String name, int threads) {
        if ("cpu".equals(name)) {
            return new CpuBackend(threads);
        }
        throw new IllegalArgumentException("backend '" + name + "' is not available; use cpu");
    }
}
