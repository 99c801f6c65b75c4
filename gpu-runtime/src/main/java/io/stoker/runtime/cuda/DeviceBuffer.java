package io.stoker.runtime.cuda;

import java.util.Objects;

/**
 * A range of device memory from a {@link DeviceMemoryPool}, or a view ({@link #slice}) of one. Synchronous copies
 * from and to Java arrays wait for the device's queued work first; asynchronous copies go through
 * {@link PinnedBuffer}s on a stream.
 *
 * <p>Thread-safety: owner thread of the device only. Closing returns the memory to the pool (views: no-op).
 */
public final class DeviceBuffer implements AutoCloseable {
    private final CudaDevice device;
    private final DeviceMemoryPool pool;
    private final long address;
    private final long bytes;
    private final long reservedBytes;
    private final String name;
    private boolean closed;

    DeviceBuffer(CudaDevice device, DeviceMemoryPool pool, long address, long bytes, long reservedBytes, String name) {
        this.device = device;
        this.pool = pool;
        this.address = address;
        this.bytes = bytes;
        this.reservedBytes = reservedBytes;
        this.name = name;
    }

    /** @return the device pointer */
    public long address() {
        return address;
    }

    public long bytes() {
        return bytes;
    }

    long reservedBytes() {
        return reservedBytes;
    }

    public String name() {
        return name;
    }

    public CudaDevice device() {
        return device;
    }

    /** A view of {@code [offset, offset + length)} bytes; closing it does nothing. */
    public DeviceBuffer slice(long offset, long length) {
        check(offset, length, "slice");
        return new DeviceBuffer(device, null, address + offset, length, 0, name + "[" + offset + "+" + length + "]");
    }

    private void check(long offset, long length, String what) {
        if (closed) {
            throw new IllegalStateException("device buffer '" + name + "' is closed");
        }
        if (offset < 0 || length < 0 || offset + length > bytes) {
            throw new IndexOutOfBoundsException(what + " of [" + offset + ", " + (offset + length) + ") is outside "
                    + "device buffer '" + name + "' of " + bytes + " bytes");
        }
        device.checkThread();
    }

    private static void checkArray(int arrayLength, int off, int count, String what) {
        if (off < 0 || count < 0 || off + count > arrayLength) {
            throw new IndexOutOfBoundsException(what + ": elements [" + off + ", " + (off + count)
                    + ") are outside an array of " + arrayLength);
        }
    }

    // ---- synchronous copies (wait for queued device work, then copy)

    public void copyFrom(float[] src) {
        copyFrom(src, 0, src.length, 0);
    }

    public void copyFrom(float[] src, int off, int count, long dstOffset) {
        checkArray(src.length, off, count, "copyFrom");
        check(dstOffset, 4L * count, "copyFrom");
        CudaNative.memcpyHtoDArray(address + dstOffset, src, 4L * off, 4L * count);
    }

    public void copyFrom(int[] src) {
        checkArray(src.length, 0, src.length, "copyFrom");
        check(0, 4L * src.length, "copyFrom");
        CudaNative.memcpyHtoDArray(address, src, 0, 4L * src.length);
    }

    public void copyFrom(long[] src) {
        check(0, 8L * src.length, "copyFrom");
        CudaNative.memcpyHtoDArray(address, src, 0, 8L * src.length);
    }

    public void copyFrom(double[] src) {
        check(0, 8L * src.length, "copyFrom");
        CudaNative.memcpyHtoDArray(address, src, 0, 8L * src.length);
    }

    public void copyFrom(short[] src) {
        check(0, 2L * src.length, "copyFrom");
        CudaNative.memcpyHtoDArray(address, src, 0, 2L * src.length);
    }

    public void copyFrom(byte[] src, int off, int count, long dstOffset) {
        checkArray(src.length, off, count, "copyFrom");
        check(dstOffset, count, "copyFrom");
        CudaNative.memcpyHtoDArray(address + dstOffset, src, off, count);
    }

    public void copyTo(float[] dst) {
        copyTo(dst, 0, dst.length, 0);
    }

    public void copyTo(float[] dst, int off, int count, long srcOffset) {
        checkArray(dst.length, off, count, "copyTo");
        check(srcOffset, 4L * count, "copyTo");
        CudaNative.memcpyDtoHArray(dst, 4L * off, address + srcOffset, 4L * count);
    }

    public void copyTo(int[] dst) {
        check(0, 4L * dst.length, "copyTo");
        CudaNative.memcpyDtoHArray(dst, 0, address, 4L * dst.length);
    }

    public void copyTo(long[] dst) {
        check(0, 8L * dst.length, "copyTo");
        CudaNative.memcpyDtoHArray(dst, 0, address, 8L * dst.length);
    }

    public void copyTo(double[] dst) {
        check(0, 8L * dst.length, "copyTo");
        CudaNative.memcpyDtoHArray(dst, 0, address, 8L * dst.length);
    }

    public void copyTo(short[] dst) {
        check(0, 2L * dst.length, "copyTo");
        CudaNative.memcpyDtoHArray(dst, 0, address, 2L * dst.length);
    }

    public void copyTo(byte[] dst, int off, int count, long srcOffset) {
        checkArray(dst.length, off, count, "copyTo");
        check(srcOffset, count, "copyTo");
        CudaNative.memcpyDtoHArray(dst, off, address + srcOffset, count);
    }

    // ---- asynchronous copies on a stream

    /** Queues a copy of {@code bytes} from pinned host memory; the source must stay unchanged until it runs. */
    public void copyFromAsync(PinnedBuffer src, long srcOffset, long dstOffset, long bytes, CudaStream stream) {
        src.check(srcOffset, bytes, "copyFromAsync");
        check(dstOffset, bytes, "copyFromAsync");
        CudaNative.memcpyHtoDAsync(address + dstOffset, src.address() + srcOffset, bytes, stream.handle());
    }

    /** Queues a copy into pinned host memory; read it after the stream (or an event after it) synchronises. */
    public void copyToAsync(PinnedBuffer dst, long dstOffset, long srcOffset, long bytes, CudaStream stream) {
        dst.check(dstOffset, bytes, "copyToAsync");
        check(srcOffset, bytes, "copyToAsync");
        CudaNative.memcpyDtoHAsync(dst.address() + dstOffset, address + srcOffset, bytes, stream.handle());
    }

    /**
     * Queues a copy from any host memory at {@code hostAddress} (e.g. an Arrow buffer). From pageable memory the
     * driver stages the bytes before returning, so the source may be released right after the call.
     */
    public void copyFromHostAsync(long hostAddress, long dstOffset, long bytes, CudaStream stream) {
        check(dstOffset, bytes, "copyFromHostAsync");
        if (hostAddress == 0 && bytes > 0) {
            throw new IllegalArgumentException("host address is 0");
        }
        CudaNative.memcpyHtoDAsync(address + dstOffset, hostAddress, bytes, stream.handle());
    }

    /** Queues a device-to-device copy. */
    public void copyFromAsync(DeviceBuffer src, long srcOffset, long dstOffset, long bytes, CudaStream stream) {
        Objects.requireNonNull(src, "src");
        src.check(srcOffset, bytes, "copyFromAsync");
        check(dstOffset, bytes, "copyFromAsync");
        CudaNative.memcpyDtoDAsync(address + dstOffset, src.address + srcOffset, bytes, stream.handle());
    }

    /**
     * Queues a copy from another device's memory (or this device's) on this buffer's stream. {@code src} may belong
     * to another device thread: only its address and size are read here. The caller orders the copy after whatever
     * wrote {@code src} (for example {@code stream.waitFor(eventRecordedByTheProducer)}) and keeps {@code src} alive
     * until the copy has run.
     */
    public void copyFromPeerAsync(DeviceBuffer src, long srcOffset, long dstOffset, long bytes, CudaStream stream) {
        Objects.requireNonNull(src, "src");
        if (srcOffset < 0 || bytes < 0 || srcOffset + bytes > src.bytes) {
            throw new IndexOutOfBoundsException("copyFromPeerAsync of [" + srcOffset + ", " + (srcOffset + bytes)
                    + ") is outside device buffer '" + src.name + "' of " + src.bytes + " bytes");
        }
        check(dstOffset, bytes, "copyFromPeerAsync");
        if (src.device.context() == device.context()) {
            CudaNative.memcpyDtoDAsync(address + dstOffset, src.address + srcOffset, bytes, stream.handle());
        } else {
            CudaNative.memcpyPeerAsync(address + dstOffset, device.context(), src.address + srcOffset,
                    src.device.context(), bytes, stream.handle());
        }
    }

    /** Queues setting every byte to {@code value}. */
    public void fillBytesAsync(int value, CudaStream stream) {
        check(0, bytes, "fillBytesAsync");
        CudaNative.memsetD8Async(address, value, bytes, stream.handle());
    }

    /** Queues setting the first {@code count} floats to {@code value}. */
    public void fillFloatsAsync(float value, long count, CudaStream stream) {
        check(0, 4L * count, "fillFloatsAsync");
        CudaNative.memsetD32Async(address, Float.floatToRawIntBits(value), count, stream.handle());
    }

    /** Returns the memory to the pool. Idempotent; views do nothing. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (pool != null) {
            pool.free(this);
        }
    }

    @Override
    public String toString() {
        return "DeviceBuffer['" + name + "', " + bytes + " bytes @0x" + Long.toHexString(address) + "]";
    }
}
