package io.stoker.runtime.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Arguments of one kernel launch, packed in native memory in the order of the kernel's parameters. Reusable:
 * {@link #clear()} and fill again, so steady-state launches allocate nothing.
 *
 * <pre>
 *  [ int32 offset of arg 0 | ... | int32 offset of arg 63 ][ values, each aligned to its size ]
 * </pre>
 *
 * <p>Thread-safety: one thread at a time.
 */
public final class KernelArgs {
    static final int MAX_ARGS = 64;
    private static final int HEADER = MAX_ARGS * 4;
    private static final int CAPACITY = 4096;

    private final ByteBuffer buffer;
    private final long address;
    private final int[] sizes = new int[MAX_ARGS];
    private int count;
    private int end = HEADER;

    public KernelArgs() {
        buffer = ByteBuffer.allocateDirect(CAPACITY).order(ByteOrder.nativeOrder());
        address = CudaNative.directBufferAddress(buffer);
    }

    public KernelArgs clear() {
        count = 0;
        end = HEADER;
        return this;
    }

    private int slot(int size) {
        if (count == MAX_ARGS) {
            throw new IllegalArgumentException("a kernel takes at most " + MAX_ARGS + " arguments here");
        }
        int off = (end + size - 1) / size * size;
        if (off + size > CAPACITY) {
            throw new IllegalArgumentException("kernel arguments exceed " + (CAPACITY - HEADER) + " bytes");
        }
        buffer.putInt(count * 4, off);
        sizes[count++] = size;
        end = off + size;
        return off;
    }

    /** A device pointer. */
    public KernelArgs ptr(DeviceBuffer b) {
        return ptr(b.address());
    }

    /** A device pointer given as an address (0 for a null pointer). */
    public KernelArgs ptr(long address) {
        buffer.putLong(slot(8), address);
        return this;
    }

    public KernelArgs i32(int v) {
        buffer.putInt(slot(4), v);
        return this;
    }

    public KernelArgs i64(long v) {
        buffer.putLong(slot(8), v);
        return this;
    }

    public KernelArgs f32(float v) {
        buffer.putFloat(slot(4), v);
        return this;
    }

    public KernelArgs f64(double v) {
        buffer.putDouble(slot(8), v);
        return this;
    }

    /** A one-byte argument ({@code char}, {@code bool}, {@code uint8_t}). */
    public KernelArgs u8(int v) {
        buffer.put(slot(1), (byte) v);
        return this;
    }

    public int count() {
        return count;
    }

    int size(int i) {
        return sizes[i];
    }

    long address() {
        return address;
    }

    String describe() {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < count; i++) {
            b.append(i == 0 ? "" : ", ").append(sizes[i]);
        }
        return b.append(')').toString();
    }
}
