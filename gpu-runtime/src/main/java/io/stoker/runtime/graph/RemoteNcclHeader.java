package io.stoker.runtime.graph;

import io.stoker.runtime.cuda.CudaDataType;
import io.stoker.runtime.cuda.DeviceArray;

/**
 * What an NCCL cross-process edge sends ahead of each array so the receiver can allocate it: the element type and
 * count, as {@value #LENGTH} floats (type ordinal, count's high and low 24 bits: each exact in a float). Both sides run
 * the same build, so the ordinal means the same type.
 *
 * @param type  the array's element type
 * @param count its elements
 */
record RemoteNcclHeader(CudaDataType type, long count) {
    static final int LENGTH = 3;
    private static final int LOW_BITS = 24;
    private static final long LOW_MASK = (1L << LOW_BITS) - 1;

    /** @return a new device array (on {@code a}'s device) describing {@code a} */
    static DeviceArray of(DeviceArray a, String name) {
        if (a.count() >>> (2 * LOW_BITS) != 0) {
            throw new IllegalArgumentException("array of " + a.count() + " elements is too large for an edge (at most "
                    + ((1L << (2 * LOW_BITS)) - 1) + ")");
        }
        return DeviceArray.of(a.device(), new float[] {a.type().ordinal(), a.count() >>> LOW_BITS,
                a.count() & LOW_MASK}, name);
    }

    /** Reads a received header (the host waits for it; it has arrived when called). */
    static RemoteNcclHeader read(DeviceArray header, String edge) {
        float[] h = header.toFloats();
        CudaDataType[] types = CudaDataType.values();
        int t = (int) h[0];
        if (t < 0 || t >= types.length || h[1] < 0 || h[2] < 0) {
            throw new IllegalStateException("cross-process edge '" + edge + "': the header received is not one ("
                    + h[0] + ", " + h[1] + ", " + h[2] + "); the two processes' NCCL calls are out of step");
        }
        return new RemoteNcclHeader(types[t], ((long) h[1] << LOW_BITS) | (long) h[2]);
    }
}
