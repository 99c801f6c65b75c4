package io.stoker.runtime.cuda;

import java.util.ArrayDeque;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Device memory of one {@link CudaDevice} under a byte budget. Sizes are rounded up (512 B granules below 1 MiB,
 * 2 MiB above) and freed blocks are kept for reuse by later allocations of the same rounded size, so a steady
 * state makes no driver call (cuMemFree synchronises the whole device).
 *
 * <p>Reuse is stream-ordered: a buffer closed while queued work still uses it may back a later allocation; work on
 * the device's stream runs in order, so that is safe there. Work on other streams must be synchronised before its
 * buffers are closed.
 *
 * <p>Thread-safety: owner thread of the device only.
 */
public final class DeviceMemoryPool implements AutoCloseable {
    private static final long SMALL = 1L << 20;
    private static final long SMALL_GRANULE = 512;
    private static final long LARGE_GRANULE = 2L << 20;

    private final CudaDevice device;
    private final long budget;
    private final TreeMap<Long, ArrayDeque<Long>> cached = new TreeMap<>();
    private final Map<DeviceBuffer, Boolean> live = new IdentityHashMap<>();
    private long inUse;
    private long reserved;
    private long peak;
    private boolean closed;

    DeviceMemoryPool(CudaDevice device, long budget) {
        if (budget <= 0) {
            throw new IllegalArgumentException("device memory budget must be > 0 bytes, got " + budget);
        }
        this.device = device;
        this.budget = budget;
    }

    static long round(long bytes) {
        long g = bytes < SMALL ? SMALL_GRANULE : LARGE_GRANULE;
        return (bytes + g - 1) / g * g;
    }

    /**
     * @param name what the memory is for (appears in errors and leak reports)
     * @throws DeviceOutOfMemoryException naming the requested size, what is in use and free, and the budget
     */
    public DeviceBuffer allocate(long bytes, String name) {
        device.checkThread();
        if (closed) {
            throw new IllegalStateException("the memory pool of CUDA device " + device.ordinal() + " is closed");
        }
        if (bytes <= 0) {
            throw new IllegalArgumentException("device allocation '" + name + "' of " + bytes + " bytes; must be > 0");
        }
        long size = round(bytes);
        if (inUse + size > budget) {
            throw new DeviceOutOfMemoryException("device " + device.ordinal() + ": cannot allocate " + bytes
                    + " bytes for '" + name + "': the pool budget is " + budget + " bytes, " + inUse
                    + " in use, " + (budget - inUse) + " free in the budget; raise the budget or free memory",
                    "pool.allocate");
        }
        Long ptr = take(size);
        if (ptr == null) {
            while (reserved + size > budget && !cached.isEmpty()) {
                releaseOne();
            }
            ptr = deviceAlloc(bytes, size, name);
            reserved += size;
        }
        inUse += size;
        peak = Math.max(peak, inUse);
        DeviceBuffer b = new DeviceBuffer(device, this, ptr, bytes, size, name);
        live.put(b, Boolean.TRUE);
        return b;
    }

    private long deviceAlloc(long bytes, long size, String name) {
        try {
            return CudaNative.memAlloc(size);
        } catch (DeviceOutOfMemoryException e) {
            trim();
            try {
                return CudaNative.memAlloc(size);
            } catch (DeviceOutOfMemoryException again) {
                long[] info = new long[2];
                CudaNative.memGetInfo(info);
                DeviceOutOfMemoryException ex = new DeviceOutOfMemoryException("device " + device.ordinal()
                        + ": cannot allocate " + bytes + " bytes for '" + name + "': the device has " + info[0]
                        + " of " + info[1] + " bytes free; the pool holds " + inUse + " in use of a budget of "
                        + budget + " bytes", "cuMemAlloc");
                ex.addSuppressed(again);
                throw ex;
            }
        }
    }

    private Long take(long size) {
        ArrayDeque<Long> q = cached.get(size);
        if (q == null) {
            return null;
        }
        Long p = q.poll();
        if (q.isEmpty()) {
            cached.remove(size);
        }
        return p;
    }

    private void releaseOne() {
        Map.Entry<Long, ArrayDeque<Long>> e = cached.lastEntry();
        long p = e.getValue().poll();
        if (e.getValue().isEmpty()) {
            cached.remove(e.getKey());
        }
        CudaNative.memFree(p);
        reserved -= e.getKey();
    }

    void free(DeviceBuffer b) {
        if (live.remove(b) == null) {
            return;
        }
        inUse -= b.reservedBytes();
        if (closed) {
            CudaNative.memFree(b.address());
            reserved -= b.reservedBytes();
            return;
        }
        cached.computeIfAbsent(b.reservedBytes(), k -> new ArrayDeque<>()).push(b.address());
    }

    /** Returns cached blocks to the device (synchronises it). */
    public void trim() {
        device.checkThread();
        while (!cached.isEmpty()) {
            releaseOne();
        }
    }

    public long budget() {
        return budget;
    }

    /** @return bytes handed out (rounded) */
    public long inUse() {
        return inUse;
    }

    /** @return bytes held from the device: in use plus cached */
    public long reserved() {
        return reserved;
    }

    public long peak() {
        return peak;
    }

    /** @return buffers not yet closed */
    public int liveBuffers() {
        return live.size();
    }

    /**
     * Frees every block. Idempotent.
     *
     * @throws IllegalStateException listing buffers that were still open (they are freed too)
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        trim();
        StringBuilder leaks = new StringBuilder();
        for (DeviceBuffer b : new java.util.ArrayList<>(live.keySet())) {
            leaks.append(leaks.length() == 0 ? "" : ", ").append('\'').append(b.name()).append("' (")
                    .append(b.bytes()).append(" bytes)");
            live.remove(b);
            CudaNative.memFree(b.address());
            reserved -= b.reservedBytes();
            inUse -= b.reservedBytes();
        }
        closed = true;
        if (leaks.length() > 0) {
            throw new IllegalStateException("device memory leaked on CUDA device " + device.ordinal()
                    + ": buffers not closed: " + leaks);
        }
    }
}
