package io.stoker.runtime.cuda;

/**
 * CUDA IPC: device memory shared between two processes on one node (the same GPU, or two GPUs that can reach each
 * other). The exporting process hands a 64-byte handle to the other one, which maps the same memory. On the
 * simulator the memory moves onto a {@code 0600} file in {@code /dev/shm}.
 *
 * <p>A handle names a whole allocation: export buffers from {@link DeviceMemoryPool#allocate}, not slices.
 */
public final class CudaIpc {
    private CudaIpc() {
    }

    /** @return the IPC handle of {@code buffer}'s allocation (owner thread of its device) */
    public static byte[] export(DeviceBuffer buffer) {
        buffer.device().checkThread();
        return CudaNative.ipcGetMemHandle(buffer.address());
    }

    static ImportedMemory open(CudaDevice device, byte[] handle, long bytes, String name) {
        if (handle == null || handle.length != Cuda.ipcMemHandleSize()) {
            throw new IllegalArgumentException("a CUDA IPC memory handle has " + Cuda.ipcMemHandleSize() + " bytes");
        }
        long address = CudaNative.ipcOpenMemHandle(handle);
        return new ImportedMemory(device, new DeviceBuffer(device, null, address, bytes, 0, name));
    }

    /** Memory of another process, mapped here; {@link #buffer()} is a view that closing does not free. */
    public static final class ImportedMemory implements AutoCloseable {
        private final CudaDevice device;
        private final DeviceBuffer buffer;
        private boolean closed;

        ImportedMemory(CudaDevice device, DeviceBuffer buffer) {
            this.device = device;
            this.buffer = buffer;
        }

        public DeviceBuffer buffer() {
            return buffer;
        }

        /** Unmaps the memory (after this device's queued work). Idempotent. */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            device.checkThread();
            closed = true;
            device.untrack(this);
            CudaNative.ipcCloseMemHandle(buffer.address());
        }
    }
}
