package io.stoker.runtime.channel;

import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

/**
 * Layout of a shared-memory channel file: a header owned by this class, then an Agrona one-to-one ring buffer
 * (data region + trailer).
 *
 * <pre>
 *   0                   8                  16                 24                 32        128
 *   +-------------------+------------------+------------------+------------------+--- ... --+
 *   | magic "STOKSHM1"  | ring capacity    | writer pid       | writer heartbeat | reserved |
 *   +-------------------+------------------+------------------+------------------+--- ... --+
 *   | 32: closed flag (int, volatile)                                                        |
 *   +----------------------------------------------------------------------------------------+
 *   | 128: ring data (capacity bytes, a power of two) | ring trailer (TRAILER_LENGTH)       |
 *   +----------------------------------------------------------------------------------------+
 * </pre>
 * The writer stores its pid once and refreshes its heartbeat (epoch millis, ordered store) as it writes and idles; the
 * reader treats the channel as closed when the closed flag is set, or when the heartbeat is stale and the writer's
 * process is gone.
 */
final class SharedMemoryLayout {
    static final long MAGIC = 0x53544F4B53484D31L; // "STOKSHM1"
    static final int MAGIC_OFFSET = 0;
    static final int CAPACITY_OFFSET = 8;
    static final int WRITER_PID_OFFSET = 16;
    static final int HEARTBEAT_OFFSET = 24;
    static final int CLOSED_OFFSET = 32;
    static final int HEADER_LENGTH = 128;

    /** Message type ids in the ring (Agrona requires positive ids). */
    static final int MSG_PAYLOAD = 1;

    private SharedMemoryLayout() {
    }

    static long fileLength(int ringCapacity) {
        return HEADER_LENGTH + (long) ringCapacity + RingBufferDescriptor.TRAILER_LENGTH;
    }
}
