package io.stoker.runtime.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Page-locked host memory ({@code cuMemHostAlloc}): the source or target of asynchronous copies. Read its
 * {@link #buffer()} only after the stream that writes it has synchronised.
 *
 * <p>Thread-safety: owner thread of the device only.
 */
public final class PinnedBuffer implements AutoCloseable {
    private final CudaDevice device;
    private final long address;
    private final long bytes;
    private final ByteBuffer buffer;
    private boolean closed;

    PinnedBuffer(CudaDevice device, long bytes) {
        if (bytes <= 0 || bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("pinned buffer of " + bytes + " bytes; must be in [1, 2^31)");
        }
        this.device = device;
        this.bytes = bytes;
        this.address = CudaNative.memHostAlloc(bytes, 0);
        this.buffer = CudaNative.directBuffer(address, bytes).order(ByteOrder.nativeOrder());
    }

    public long address() {
        return address;
    }

    public long bytes() {
        return bytes;
    }

    /** A native-order view of the whole buffer (position 0, limit = capacity); each call returns a new view. */
    public ByteBuffer buffer() {
        if (closed) {
            throw new IllegalStateException("pinned buffer is closed");
        }
        return buffer.duplicate().order(ByteOrder.nativeOrder());
    }

    void check(long offset, long length, String what) {
        if (closed) {
            throw new IllegalStateException("pinned buffer is closed");
        }
        if (offset < 0 || length < 0 || offset + length > bytes) {
            throw new IndexOutOfBoundsException(what + " of [" + offset + ", " + (offset + length)
                    + ") is outside a pinned buffer of " + bytes + " bytes");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        device.checkThread();
        closed = true;
        device.untrack(this);
        CudaNative.memFreeHost(address);
    }
}
