package io.stoker.runtime.cuda;

import java.util.Arrays;

/**
 * One kernel of a loaded module. {@link #launch} checks the arguments against the kernel's parameter sizes (when
 * the driver reports them, CUDA 12.4 and later) before the driver checks the launch shape.
 *
 * <p>Thread-safety: owner thread of the device only.
 */
public final class CudaFunction {
    private static final int ATTR_MAX_THREADS_PER_BLOCK = 0;
    private static final int ATTR_SHARED_SIZE_BYTES = 1;
    private static final int ATTR_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;

    private final CudaDevice device;
    private final String program;
    private final String name;
    private final long handle;
    private final long[] paramSizes;

    CudaFunction(CudaDevice device, String program, String name, long handle) {
        this.device = device;
        this.program = program;
        this.name = name;
        this.handle = handle;
        this.paramSizes = CudaNative.funcParamSizes(handle);
    }

    public String name() {
        return name;
    }

    /** @return the byte size of each parameter, or null when the driver cannot tell */
    public long[] paramSizes() {
        return paramSizes == null ? null : paramSizes.clone();
    }

    public int maxThreadsPerBlock() {
        return CudaNative.funcGetAttribute(ATTR_MAX_THREADS_PER_BLOCK, handle);
    }

    public int staticSharedBytes() {
        return CudaNative.funcGetAttribute(ATTR_SHARED_SIZE_BYTES, handle);
    }

    /** Allows launches with up to {@code bytes} of dynamic shared memory (needed above 48 KiB). */
    public void setMaxDynamicSharedBytes(int bytes) {
        device.checkThread();
        CudaNative.funcSetAttribute(handle, ATTR_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
    }

    /**
     * Queues the kernel on {@code stream}.
     *
     * @throws IllegalArgumentException when the arguments do not match the kernel's parameters
     * @throws CudaException            when the driver rejects the launch (block, grid or shared memory limits)
     */
    public void launch(CudaStream stream, LaunchConfig c, KernelArgs args) {
        device.checkThread();
        if (paramSizes != null) {
            boolean ok = paramSizes.length == args.count();
            for (int i = 0; ok && i < paramSizes.length; i++) {
                ok = paramSizes[i] == args.size(i);
            }
            if (!ok) {
                throw new IllegalArgumentException("kernel '" + name + "' of " + program + " takes "
                        + paramSizes.length + " parameters of sizes " + Arrays.toString(paramSizes) + " but got "
                        + args.count() + " of sizes " + args.describe());
            }
        }
        try {
            CudaNative.launchKernel(handle, c.gridX(), c.gridY(), c.gridZ(), c.blockX(), c.blockY(), c.blockZ(),
                    c.sharedBytes(), stream.handle(), args.address(), args.count());
        } catch (CudaException e) {
            throw new CudaException(e.library(), "cuLaunchKernel", e.code(), e.errorName(), "kernel '" + name
                    + "' with grid (" + c.gridX() + "," + c.gridY() + "," + c.gridZ() + "), block (" + c.blockX()
                    + "," + c.blockY() + "," + c.blockZ() + "), " + c.sharedBytes() + " bytes of dynamic shared "
                    + "memory: " + e.getMessage());
        }
    }

    @Override
    public String toString() {
        return "CudaFunction[" + program + ":" + name + "]";
    }
}
