package io.stoker.runtime.channel;

import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.IoUtil;
import org.agrona.concurrent.ControlledMessageHandler;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

/**
 * A channel between two processes on one node: an Agrona one-to-one ring buffer in a memory-mapped file (on
 * {@code /dev/shm} when present), payloads framed by a {@link PayloadCodec} (Arrow IPC for record batches).
 *
 * <p>The creating side sizes the ring from a byte budget and checks the file system has that much free first, so an
 * undersized {@code /dev/shm} (64 MiB in many containers) fails at start-up with a message saying what to change,
 * not later with a hang. The file is created with permissions {@code 0600} (owner only) and deleted by the creator
 * on {@link #close()}. One process writes, one process reads; either may have created the file.
 *
 * <p>A payload larger than {@link #maxPayloadBytes()} is rejected with an error naming the channel and both sizes.
 *
 * @param <T> payload type
 */
public final class SharedMemoryChannel<T> implements Channel<T> {
    private static final long STALE_HEARTBEAT_MILLIS = TimeUnit.SECONDS.toMillis(5);

    private final String name;
    private final Path file;
    private final boolean owner;
    private final MappedByteBuffer mapped;
    private final UnsafeBuffer header;
    private final OneToOneRingBuffer ring;
    private final PayloadCodec<T> codec;
    private final ExpandableDirectByteBuffer scratch = new ExpandableDirectByteBuffer(4096);
    private final ControlledMessageHandler reader = this::onMessage;
    private T received;
    private boolean writerSeen;
    private long lastLivenessCheck;
    private boolean closed;

    private SharedMemoryChannel(String name, Path file, boolean owner, MappedByteBuffer mapped, PayloadCodec<T> codec) {
        this.name = name;
        this.file = file;
        this.owner = owner;
        this.mapped = mapped;
        this.codec = codec;
        this.header = new UnsafeBuffer(mapped, 0, SharedMemoryLayout.HEADER_LENGTH);
        int capacity = (int) header.getLong(SharedMemoryLayout.CAPACITY_OFFSET);
        this.ring = new OneToOneRingBuffer(new UnsafeBuffer(mapped, SharedMemoryLayout.HEADER_LENGTH,
                capacity + RingBufferDescriptor.TRAILER_LENGTH));
    }

    /**
     * Creates the channel file.
     *
     * @param dir         where to create it ({@link #defaultDirectory()} for /dev/shm)
     * @param budgetBytes ring size; rounded down to a power of two, at least 64 KiB
     * @throws IllegalStateException when the file system lacks the space, naming both sizes and what to change
     */
    public static <T> SharedMemoryChannel<T> create(String name, Path dir, long budgetBytes, PayloadCodec<T> codec) {
        if (budgetBytes < 65_536 || budgetBytes > (1L << 30)) {
            throw new IllegalArgumentException("shared-memory channel '" + name + "': budget " + budgetBytes
                    + " bytes must be between 64 KiB and 1 GiB");
        }
        int capacity = Integer.highestOneBit((int) Math.min(budgetBytes, 1 << 30));
        long length = SharedMemoryLayout.fileLength(capacity);
        try {
            Files.createDirectories(dir);
            long usable = Files.getFileStore(dir).getUsableSpace();
            if (usable < length) {
                throw new IllegalStateException("shared-memory channel '" + name + "' needs " + length + " bytes in "
                        + dir + " but only " + usable + " are free; enlarge it (e.g. docker --shm-size) or lower the"
                        + " channel budget");
            }
            Path file = dir.resolve("stoker-" + sanitize(name) + "-" + ProcessHandle.current().pid() + "-"
                    + System.nanoTime() + ".shm");
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            MappedByteBuffer mapped;
            try (FileChannel fc = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                mapped = fc.map(FileChannel.MapMode.READ_WRITE, 0, length);
            }
            UnsafeBuffer h = new UnsafeBuffer(mapped, 0, SharedMemoryLayout.HEADER_LENGTH);
            h.putLong(SharedMemoryLayout.CAPACITY_OFFSET, capacity);
            h.putLongOrdered(SharedMemoryLayout.MAGIC_OFFSET, SharedMemoryLayout.MAGIC);
            return new SharedMemoryChannel<>(name, file, true, mapped, codec);
        } catch (IOException e) {
            throw new UncheckedIOException("shared-memory channel '" + name + "': cannot create its file in " + dir, e);
        }
    }

    /** Attaches to a channel file another process created. */
    public static <T> SharedMemoryChannel<T> open(String name, Path file, PayloadCodec<T> codec) {
        try (FileChannel fc = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MappedByteBuffer mapped = fc.map(FileChannel.MapMode.READ_WRITE, 0, fc.size());
            UnsafeBuffer h = new UnsafeBuffer(mapped, 0, SharedMemoryLayout.HEADER_LENGTH);
            if (h.getLongVolatile(SharedMemoryLayout.MAGIC_OFFSET) != SharedMemoryLayout.MAGIC) {
                throw new IllegalStateException("shared-memory channel '" + name + "': " + file
                        + " is not a Stoker channel file (bad magic)");
            }
            return new SharedMemoryChannel<>(name, file, false, mapped, codec);
        } catch (IOException e) {
            throw new UncheckedIOException("shared-memory channel '" + name + "': cannot open " + file, e);
        }
    }

    /** @return {@code /dev/shm} when it exists and is writable, else the JVM's temp directory */
    public static Path defaultDirectory() {
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    private static String sanitize(String s) {
        return s.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    /** @return the channel file, to hand to the other process */
    public Path file() {
        return file;
    }

    /** @return the largest encoded payload the ring accepts */
    public int maxPayloadBytes() {
        return ring.maxMsgLength();
    }

    @Override
    public boolean offer(T value) {
        if (isClosed()) {
            return false;
        }
        if (!writerSeen) {
            header.putLongOrdered(SharedMemoryLayout.WRITER_PID_OFFSET, ProcessHandle.current().pid());
            writerSeen = true;
        }
        header.putLongOrdered(SharedMemoryLayout.HEARTBEAT_OFFSET, System.currentTimeMillis());
        int length = codec.encode(value, scratch);
        if (length > ring.maxMsgLength()) {
            throw new IllegalArgumentException("shared-memory channel '" + name + "': payload of " + length
                    + " bytes exceeds the limit of " + ring.maxMsgLength() + " bytes (1/8 of the ring); split the batch"
                    + " into fewer rows or raise the channel budget");
        }
        return ring.write(SharedMemoryLayout.MSG_PAYLOAD, scratch, 0, length);
    }

    @Override
    public T poll() {
        if (closed) {
            return null;
        }
        received = null;
        if (ring.controlledRead(reader, 1) == 0) {
            return null;
        }
        T v = received;
        received = null;
        return v;
    }

    private ControlledMessageHandler.Action onMessage(int type, org.agrona.MutableDirectBuffer buffer, int index,
                                                      int length) {
        received = codec.decode((DirectBuffer) buffer, index, length);
        return ControlledMessageHandler.Action.COMMIT;
    }

    @Override
    public boolean hasValue() {
        return !closed && ring.size() > 0;
    }

    /** Refreshes the writer's heartbeat while it has nothing to send (call from the writer's idle loop). */
    public void heartbeat() {
        header.putLongOrdered(SharedMemoryLayout.HEARTBEAT_OFFSET, System.currentTimeMillis());
    }

    /**
     * @return true when this end closed, the writer closed, or the writer's process is gone (a stale heartbeat and no
     * live process with its pid); values already in the ring can still be read
     */
    @Override
    public boolean isClosed() {
        if (closed || header.getIntVolatile(SharedMemoryLayout.CLOSED_OFFSET) != 0) {
            return true;
        }
        long now = System.currentTimeMillis();
        if (now - lastLivenessCheck < 100) {
            return false;
        }
        lastLivenessCheck = now;
        long pid = header.getLongVolatile(SharedMemoryLayout.WRITER_PID_OFFSET);
        long beat = header.getLongVolatile(SharedMemoryLayout.HEARTBEAT_OFFSET);
        if (pid == 0 || now - beat < STALE_HEARTBEAT_MILLIS) {
            return false;
        }
        return ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int capacity() {
        return ring.capacity();
    }

    @Override
    public ChannelKind kind() {
        return ChannelKind.SHARED_MEMORY;
    }

    /** Marks the channel closed for both ends; the creator also unmaps and deletes the file. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        header.putIntVolatile(SharedMemoryLayout.CLOSED_OFFSET, 1);
        IoUtil.unmap(mapped);
        if (owner) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                throw new UncheckedIOException("shared-memory channel '" + name + "': cannot delete " + file, e);
            }
        }
    }

    @Override
    public String toString() {
        return "SharedMemoryChannel[" + name + ", " + file + ", capacity=" + capacity() + "]";
    }
}
