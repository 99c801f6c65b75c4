package io.stoker.runtime.cuda;

import java.util.HashMap;
import java.util.Map;

/**
 * A compiled program loaded into the device's context; its kernels are looked up by name ({@code extern "C"}
 * names, unmangled).
 *
 * <p>Thread-safety: owner thread of the device only.
 */
public final class CudaModule implements AutoCloseable {
    private final CudaDevice device;
    private final String program;
    private final CompiledKernel image;
    private final long handle;
    private final Map<String, CudaFunction> functions = new HashMap<>();
    private boolean closed;

    CudaModule(CudaDevice device, String program, CompiledKernel image) {
        this.device = device;
        this.program = program;
        this.image = image;
        this.handle = CudaNative.moduleLoadData(image.image());
    }

    public String program() {
        return program;
    }

    /** @return how the program was compiled (target, CUBIN or PTX, NVRTC's log) */
    public CompiledKernel image() {
        return image;
    }

    /**
     * @throws CudaException with {@code CUDA_ERROR_NOT_FOUND} when the program has no kernel of that name
     */
    public CudaFunction function(String name) {
        device.checkThread();
        if (closed) {
            throw new IllegalStateException("module " + program + " is closed");
        }
        CudaFunction f = functions.get(name);
        if (f == null) {
            f = new CudaFunction(device, program, name, CudaNative.moduleGetFunction(handle, name));
            functions.put(name, f);
        }
        return f;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        device.checkThread();
        closed = true;
        device.untrack(this);
        CudaNative.moduleUnload(handle);
    }
}
