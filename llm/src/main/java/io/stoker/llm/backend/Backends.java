package io.stoker.llm.backend;

import io.stoker.llm.backend.cpu.CpuBackend;
import io.stoker.runtime.channel.IdleKind;

/** Creates a backend by name; the one place a new backend (e.g. {@code cuda}) is wired in. */
public final class Backends {
    private Backends() {
    }

    /**
     * @param name    {@code cpu}
     * @param threads worker threads for the CPU kernels
     * @param idle    how the backend's threads wait between kernels
     * @throws IllegalArgumentException naming the backend when it is unknown
     */
    public static Backend create(String name, int threads, IdleKind idle) {
        if ("cpu".equals(name)) {
            return new CpuBackend(threads, idle);
        }
        throw new IllegalArgumentException("backend '" + name + "' is not available; use cpu");
    }
}
