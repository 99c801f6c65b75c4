package io.stoker.llm.backend.cuda;

import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaEvent;
import io.stoker.runtime.cuda.CudaStream;
import io.stoker.runtime.cuda.DeviceBuffer;
import io.stoker.runtime.cuda.PinnedBuffer;

import java.nio.ByteBuffer;

/**
 * Small per-step host arrays (token ids, positions, block tables, sampling settings) on their way to the device: the
 * caller fills a pinned buffer, {@link #commit} queues one asynchronous copy on the stream, and the next
 * {@link #begin} waits for that copy before the pinned memory is reused. Both buffers grow on demand.
 *
 * <p>Thread-safety: owner thread of the device only.
 */
final class Staging implements AutoCloseable {
    private final CudaDevice device;
    private final CudaStream stream;
    private final String name;
    private final CudaEvent copied;
    private PinnedBuffer host;
    private DeviceBuffer dev;
    private boolean pending;

    Staging(CudaDevice device, CudaStream stream, String name) {
        this.device = device;
        this.stream = stream;
        this.name = name;
        this.copied = device.newSyncEvent();
    }

    /** @return a native-order view of at least {@code bytes} pinned bytes, free to write */
    ByteBuffer begin(long bytes) {
        if (pending) {
            copied.synchronize();
            pending = false;
        }
        if (host == null || host.bytes() < bytes) {
            long size = Math.max(4096, Math.max(bytes, host == null ? 0 : host.bytes() * 2));
            free();
            host = device.allocatePinned(size);
            dev = device.allocate(size, name);
        }
        return host.buffer();
    }

    /** Queues the copy of the first {@code bytes} and returns the device buffer they will be in. */
    DeviceBuffer commit(long bytes) {
        if (bytes > 0) {
            dev.copyFromAsync(host, 0, 0, bytes, stream);
            copied.record(stream);
            pending = true;
        }
        return dev;
    }

    @Override
    public void close() {
        free();
        copied.close();
    }

    private void free() {
        if (dev != null) {
            dev.close();
            dev = null;
        }
        if (host != null) {
            host.close();
            host = null;
        }
        pending = false;
    }
}
