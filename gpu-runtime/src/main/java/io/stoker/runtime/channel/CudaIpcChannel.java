package io.stoker.runtime.channel;

import io.stoker.runtime.cuda.CudaDataType;
import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaEvent;
import io.stoker.runtime.cuda.CudaIpc;
import io.stoker.runtime.cuda.DeviceArray;
import io.stoker.runtime.cuda.DeviceBuffer;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;

import java.nio.file.Path;
import java.util.ArrayDeque;

/**
 * A GPU channel between two processes on one node (the same GPU, or two GPUs that reach each other), over CUDA IPC.
 *
 * <p>The reader owns {@code slots} receive buffers of {@code slotBytes} on its device and exports their IPC handles;
 * the writer maps them once. Sending a {@link DeviceArray} is one device copy, by the writer, straight into a free
 * slot of the reader's memory; when that copy has run (an event the writer polls, never waits for) the writer
 * publishes "slot k holds count x type" on a shared-memory ring. The reader gets a view of the slot, uses it on its
 * main stream and {@linkplain Reader#release releases} it; once its work on the slot has run, the slot goes back to the
 * writer on a second ring. No host thread waits for the device in steady state, so throughput is that of the copy.
 *
 * <pre>
 *   writer process                                   reader process
 *   offer(a): copy a -> slot k (IPC-mapped) ──────▶  slots[0..n) on the reader's device
 *             event done?  "filled k, count, type" ▶ poll(): view of slot k
 *   slot k free again  ◀── "free k" (after the reader's event)  ◀── release(view)
 * </pre>
 *
 * <p>Set-up: the reader {@link Reader#create creates} the channel and passes {@link Reader#filledFile()} and
 * {@link Reader#freeFile()} to the writer process, which {@link Writer#open opens} it. The rings are
 * {@link SharedMemoryChannel}s ({@code 0600} files in {@code /dev/shm}), so either side sees the other's death.
 *
 * <p>Thread-safety: each end is used by its device's owner thread only.
 */
public final class CudaIpcChannel {
    private static final long MAGIC = 0x5354_4b49_5043_3031L; // "STKIPC01"
    private static final int HANDLE_LONGS = 8;                 // 64-byte CUipcMemHandle
    private static final long RING_BYTES = 1 << 16;

    private CudaIpcChannel() {
    }

    /** Frames are arrays of longs. */
    private static final class LongsCodec implements PayloadCodec<long[]> {
        @Override
        public int encode(long[] value, ExpandableDirectByteBuffer scratch) {
            for (int i = 0; i < value.length; i++) {
                scratch.putLong(8 * i, value[i]);
            }
            return 8 * value.length;
        }

        @Override
        public long[] decode(DirectBuffer buffer, int offset, int length) {
            long[] out = new long[length / 8];
            for (int i = 0; i < out.length; i++) {
                out[i] = buffer.getLong(offset + 8 * i);
            }
            return out;
        }
    }

    /** The reading end: owns the slots and both ring files. */
    public static final class Reader implements AutoCloseable {
        private final String name;
        private final CudaDevice device;
        private final DeviceBuffer[] slots;
        private final CudaEvent[] released;
        private final SharedMemoryChannel<long[]> filled;
        private final SharedMemoryChannel<long[]> free;
        private final ArrayDeque<Integer> acks = new ArrayDeque<>();
        private boolean closed;

        private Reader(String name, CudaDevice device, DeviceBuffer[] slots, SharedMemoryChannel<long[]> filled,
                       SharedMemoryChannel<long[]> free) {
            this.name = name;
            this.device = device;
            this.slots = slots;
            this.released = new CudaEvent[slots.length];
            this.filled = filled;
            this.free = free;
        }

        /**
         * Allocates {@code slots} buffers of {@code slotBytes} on {@code device} (its owner thread) and the two rings
         * in {@code dir} ({@link SharedMemoryChannel#defaultDirectory()}: /dev/shm).
         */
        public static Reader create(String name, CudaDevice device, int slots, long slotBytes, Path dir) {
            device.checkThread();
            if (slots < 1 || slots > 1024 || slotBytes < 1) {
                throw new IllegalArgumentException("CUDA IPC channel '" + name + "': slots=" + slots + " (1..1024) and"
                        + " slotBytes=" + slotBytes + " (>= 1) are out of range");
            }
            DeviceBuffer[] bufs = new DeviceBuffer[slots];
            SharedMemoryChannel<long[]> filled = null;
            SharedMemoryChannel<long[]> free = null;
            try {
                long[] setup = new long[3 + slots * HANDLE_LONGS];
                setup[0] = MAGIC;
                setup[1] = slots;
                setup[2] = slotBytes;
                for (int i = 0; i < slots; i++) {
                    bufs[i] = device.allocate(slotBytes, name + ".slot" + i);
                    java.nio.ByteBuffer h = java.nio.ByteBuffer.wrap(CudaIpc.export(bufs[i]));
                    for (int j = 0; j < HANDLE_LONGS; j++) {
                        setup[3 + i * HANDLE_LONGS + j] = h.getLong();
                    }
                }
                filled = SharedMemoryChannel.create(name + "-filled", dir, RING_BYTES, new LongsCodec());
                free = SharedMemoryChannel.create(name + "-free", dir, RING_BYTES, new LongsCodec());
                if (!free.offer(setup)) {
                    throw new IllegalStateException("CUDA IPC channel '" + name + "': the set-up frame does not fit");
                }
                return new Reader(name, device, bufs, filled, free);
            } catch (RuntimeException e) {
                for (DeviceBuffer b : bufs) {
                    if (b != null) {
                        b.close();
                    }
                }
                if (filled != null) {
                    filled.close();
                }
                if (free != null) {
                    free.close();
                }
                throw e;
            }
        }

        /** @return the ring the writer fills; hand it to the writer process */
        public Path filledFile() {
            return filled.file();
        }

        /** @return the ring of free slots (and the set-up frame); hand it to the writer process */
        public Path freeFile() {
            return free.file();
        }

        /**
         * @return the next array: a view of a slot on this device, valid until {@link #release}d (not to be closed);
         * or null when none has arrived
         */
        public DeviceArray poll() {
            device.checkThread();
            sendAcks();
            long[] f = filled.poll();
            if (f == null) {
                return null;
            }
            if (f.length != 3 || f[0] < 0 || f[0] >= slots.length || f[1] < 0
                    || f[1] >= CudaDataType.values().length) {
                throw new IllegalStateException("CUDA IPC channel '" + name + "': a malformed frame from the writer ("
                        + java.util.Arrays.toString(f) + "); do both processes run the same Stoker version?");
            }
            int slot = (int) f[0];
            CudaDataType type = CudaDataType.values()[(int) f[1]];
            long count = f[2];
            return new DeviceArray(slots[slot].slice(0, count * type.bytes()), type, count);
        }

        /** Gives a polled view's slot back to the writer once the work queued on this device's stream has run. */
        public void release(DeviceArray view) {
            device.checkThread();
            int slot = slotOf(view);
            if (released[slot] == null) {
                released[slot] = device.newSyncEvent();
            }
            released[slot].record(device.stream());
            acks.add(slot);
            sendAcks();
        }

        private int slotOf(DeviceArray view) {
            for (int i = 0; i < slots.length; i++) {
                if (slots[i].address() == view.address()) {
                    return i;
                }
            }
            throw new IllegalArgumentException("CUDA IPC channel '" + name + "': " + view + " is not a slot of it");
        }

        private void sendAcks() {
            while (!acks.isEmpty()) {
                int slot = acks.peek();
                if (!released[slot].isDone() || !free.offer(new long[] {slot})) {
                    return;
                }
                acks.poll();
            }
        }

        /** @return true when a filled slot is waiting to be {@link #poll}ed */
        public boolean hasValue() {
            return filled.hasValue();
        }

        /** @return true once the writer closed its end or its process is gone (values may still be waiting) */
        public boolean isWriterClosed() {
            return filled.isClosed();
        }

        /** Frees the slots and deletes the ring files. Owner thread; idempotent. */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            device.checkThread();
            closed = true;
            device.stream().synchronize();
            filled.close();
            free.close();
            for (CudaEvent e : released) {
                if (e != null) {
                    e.close();
                }
            }
            for (DeviceBuffer b : slots) {
                b.close();
            }
        }
    }

    /** The writing end: maps the reader's slots and copies into them. */
    public static final class Writer implements AutoCloseable {
        private final String name;
        private final CudaDevice device;
        private final CudaIpc.ImportedMemory[] slots;
        private final long slotBytes;
        private final boolean[] isFree;
        private final CudaEvent[] copied;
        private final ArrayDeque<long[]> unpublished = new ArrayDeque<>();
        private final SharedMemoryChannel<long[]> filled;
        private final SharedMemoryChannel<long[]> free;
        private boolean closed;

        private Writer(String name, CudaDevice device, CudaIpc.ImportedMemory[] slots, long slotBytes,
                       SharedMemoryChannel<long[]> filled, SharedMemoryChannel<long[]> free) {
            this.name = name;
            this.device = device;
            this.slots = slots;
            this.slotBytes = slotBytes;
            this.isFree = new boolean[slots.length];
            java.util.Arrays.fill(isFree, true);
            this.copied = new CudaEvent[slots.length];
            this.filled = filled;
            this.free = free;
        }

        /**
         * Opens the reader's channel on {@code device} (its owner thread): waits up to {@code timeoutMillis} for the
         * set-up frame, then maps every slot.
         */
        public static Writer open(String name, CudaDevice device, Path filledFile, Path freeFile, long timeoutMillis)
                throws InterruptedException {
            device.checkThread();
            SharedMemoryChannel<long[]> filled = SharedMemoryChannel.open(name + "-filled", filledFile,
                    new LongsCodec());
            SharedMemoryChannel<long[]> free = SharedMemoryChannel.open(name + "-free", freeFile, new LongsCodec());
            long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
            long[] setup;
            while ((setup = free.poll()) == null) {
                if (free.isClosed() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("CUDA IPC channel '" + name + "': no set-up frame from the reader"
                            + " within " + timeoutMillis + " ms");
                }
                Thread.sleep(1);
            }
            if (setup.length < 3 || setup[0] != MAGIC) {
                throw new IllegalStateException("CUDA IPC channel '" + name + "': " + freeFile
                        + " does not start with a set-up frame");
            }
            int n = (int) setup[1];
            long slotBytes = setup[2];
            CudaIpc.ImportedMemory[] mapped = new CudaIpc.ImportedMemory[n];
            try {
                for (int i = 0; i < n; i++) {
                    java.nio.ByteBuffer h = java.nio.ByteBuffer.allocate(8 * HANDLE_LONGS);
                    for (int j = 0; j < HANDLE_LONGS; j++) {
                        h.putLong(setup[3 + i * HANDLE_LONGS + j]);
                    }
                    mapped[i] = device.openIpc(h.array(), slotBytes, name + ".slot" + i);
                }
            } catch (RuntimeException e) {
                for (CudaIpc.ImportedMemory m : mapped) {
                    if (m != null) {
                        m.close();
                    }
                }
                throw e;
            }
            return new Writer(name, device, mapped, slotBytes, filled, free);
        }

        /** @return the most bytes one array may have */
        public long slotBytes() {
            return slotBytes;
        }

        /**
         * Queues a copy of {@code a} (on this device, ordered after the work queued on its stream) into a free slot.
         * The caller keeps {@code a}: it may close it at once (the pool reuses memory in stream order).
         *
         * @return false when every slot is in use (call again later)
         * @throws IllegalArgumentException when {@code a} is larger than a slot
         */
        public boolean offer(DeviceArray a) {
            device.checkThread();
            if (a.bytes() > slotBytes) {
                throw new IllegalArgumentException("CUDA IPC channel '" + name + "': an array of " + a.bytes()
                        + " bytes does not fit a slot of " + slotBytes + " bytes; create the channel with larger slots");
            }
            progress();
            int k = -1;
            for (int i = 0; i < isFree.length; i++) {
                if (isFree[i]) {
                    k = i;
                    break;
                }
            }
            if (k < 0) {
                return false;
            }
            isFree[k] = false;
            slots[k].buffer().copyFromAsync(a.buffer(), 0, 0, a.bytes(), device.stream());
            if (copied[k] == null) {
                copied[k] = device.newSyncEvent();
            }
            copied[k].record(device.stream());
            unpublished.add(new long[] {k, a.type().ordinal(), a.count()});
            progress();
            return true;
        }

        /** Takes back freed slots and publishes every copy that has run; never waits. */
        public void progress() {
            long[] f;
            while ((f = free.poll()) != null) {
                isFree[(int) f[0]] = true;
            }
            while (!unpublished.isEmpty()) {
                long[] head = unpublished.peek();
                if (!copied[(int) head[0]].isDone() || !filled.offer(head)) {
                    return;
                }
                unpublished.poll();
            }
        }

        /** @return copies queued by {@link #offer} and not yet published to the reader */
        public int pending() {
            return unpublished.size();
        }

        /** Publishes every queued copy, waiting for them; gives up on what is left once the reader is gone. */
        public void flush() {
            device.checkThread();
            for (long[] u : unpublished) {
                copied[(int) u[0]].synchronize();
            }
            while (!unpublished.isEmpty() && !free.isClosed()) {
                progress();
                Thread.onSpinWait();
            }
        }

        /** @return true once the reader is gone (its rings closed or its process dead) */
        public boolean isReaderClosed() {
            return free.isClosed();
        }

        /** Publishes what is queued, unmaps the slots and closes this end (the reader sees it closed). */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            device.checkThread();
            closed = true;
            if (!free.isClosed()) {
                flush();
            }
            device.stream().synchronize();
            for (CudaEvent e : copied) {
                if (e != null) {
                    e.close();
                }
            }
            for (CudaIpc.ImportedMemory m : slots) {
                m.close();
            }
            filled.close();
            free.close();
        }
    }
}
