package io.stoker.runtime.channel;

import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaEvent;
import io.stoker.runtime.cuda.DeviceArray;
import org.agrona.concurrent.OneToOneConcurrentArrayQueue;

import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A channel between two GPU actors of one process on different GPUs. The writer hands over a {@link DeviceArray} of
 * its device (the channel takes ownership) with an event recorded on its main stream; the reader's main stream waits
 * for that event, then copies the array into a new one on the reader's device ({@code cuMemcpyPeerAsync}) that the
 * reading task owns. The source goes back to the writer, whose main stream waits for the copy before the source's
 * memory returns to its pool. Neither host thread waits for the device.
 *
 * <p>Values that are not device arrays (task failures, host objects) cross by reference, in order.
 *
 * <p>The reader finds its device with {@link CudaDevice#current()}: the device its actor opened on its thread.
 *
 * <p>Thread-safety: one writer thread, one reader thread. {@link #close()} may be called from any thread; the two
 * release methods run on their ends' threads.
 */
public final class PeerCopyChannel implements DeviceChannel {
    /** One value in flight; reused. Fields are handed between the threads by the queues' ordered stores. */
    private static final class Slot {
        Object value;
        DeviceArray source;
        CudaEvent ready;  // writer's device: the source is complete here
        CudaEvent copied; // reader's device: the copy out of the source is done here
    }

    private final String name;
    private final int capacity;
    private final OneToOneConcurrentArrayQueue<Slot> forward;
    private final OneToOneConcurrentArrayQueue<Slot> back;
    private final Runnable wakeReader;
    private final ArrayDeque<Slot> free = new ArrayDeque<>();          // writer thread
    private final CudaEvent[] readerEvents;                              // reader thread
    private int readerNext;                                              // reader thread
    private CudaDevice readerDevice;                                     // reader thread
    private final AtomicInteger readerBusy = new AtomicInteger();
    private volatile boolean closed;
    private boolean readerGone; // guarded by this

    /**
     * @param capacity   values in flight (the graph's max in flight)
     * @param wakeReader called after each offer (the reader actor's wake-up hook)
     */
    public PeerCopyChannel(String name, int capacity, Runnable wakeReader) {
        if (capacity < 1) {
            throw new IllegalArgumentException("channel " + name + ": capacity=" + capacity + " must be >= 1");
        }
        this.name = name;
        this.forward = new OneToOneConcurrentArrayQueue<>(capacity);
        this.capacity = forward.capacity();
        this.back = new OneToOneConcurrentArrayQueue<>(2 * this.capacity + 2);
        this.readerEvents = new CudaEvent[2 * this.capacity];
        this.wakeReader = wakeReader;
    }

    @Override
    public boolean offer(Object value) {
        if (closed) {
            return false;
        }
        reclaim();
        Slot s = free.poll();
        if (s == null) {
            s = new Slot();
        }
        if (value instanceof DeviceArray) {
            DeviceArray a = (DeviceArray) value;
            CudaDevice d = a.device();
            if (s.ready == null) {
                s.ready = d.newSyncEvent();
            }
            s.ready.record(d.stream());
            s.source = a;
        } else {
            s.value = value;
        }
        if (!forward.offer(s)) {
            s.source = null;
            s.value = null;
            free.push(s);
            return false;
        }
        wakeReader.run();
        return true;
    }

    @Override
    public Object poll() {
        readerBusy.set(1); // volatile; then read closed: pairs with releaseWriterEnd's closed-then-busy
        try {
            if (closed) {
                return null;
            }
            Slot s = forward.poll();
            if (s == null) {
                return null;
            }
            if (s.source == null) {
                Object v = s.value;
                s.value = null;
                back.offer(s);
                return v;
            }
            DeviceArray src = s.source;
            DeviceArray dst;
            try {
                CudaDevice d = readerDevice();
                d.stream().waitFor(s.ready);
                dst = DeviceArray.allocate(d, src.type(), src.count(), name);
                dst.buffer().copyFromPeerAsync(src.buffer(), 0, 0, src.bytes(), d.stream());
                s.copied = nextReaderEvent(d);
                s.copied.record(d.stream());
            } catch (RuntimeException e) {
                s.copied = null; // no copy was queued: the writer frees the source at once
                back.offer(s);
                throw e;
            }
            back.offer(s);
            return dst;
        } finally {
            readerBusy.set(0);
        }
    }

    private CudaDevice readerDevice() {
        if (readerDevice == null) {
            readerDevice = CudaDevice.current();
            if (readerDevice == null) {
                throw new IllegalStateException("GPU channel " + name + ": the reading thread '"
                        + Thread.currentThread().getName() + "' has no CUDA device open; GPU channels connect GPU"
                        + " actors (CudaActors.onDevice)");
            }
        }
        return readerDevice;
    }

    /** Reader events are reused round-robin; a writer that waits on a later record of one waits longer, never less. */
    private CudaEvent nextReaderEvent(CudaDevice d) {
        int i = readerNext;
        readerNext = (i + 1) % readerEvents.length;
        if (readerEvents[i] == null) {
            readerEvents[i] = d.newSyncEvent();
        }
        return readerEvents[i];
    }

    /** Frees the sources the reader has copied from (stream-ordered after the copy). Writer thread. */
    private synchronized void reclaim() {
        Slot s;
        while ((s = back.poll()) != null) {
            if (s.source != null) {
                DeviceArray src = s.source;
                if (!readerGone && s.copied != null) {
                    src.device().stream().waitFor(s.copied);
                }
                src.close();
                s.source = null;
                s.copied = null;
            }
            free.push(s);
        }
    }

    @Override
    public boolean hasValue() {
        return !closed && !forward.isEmpty();
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public GpuChannelKind gpuKind() {
        return GpuChannelKind.PEER_COPY;
    }

    @Override
    public void close() {
        closed = true;
    }

    @Override
    public void releaseWriterEnd() {
        closed = true;
        while (readerBusy.get() != 0) {
            Thread.onSpinWait(); // a poll in progress finishes its hand-back first
        }
        reclaim();
        Slot s;
        while ((s = forward.poll()) != null) {
            if (s.source != null) {
                s.source.close(); // never read: no copy to wait for
                s.source = null;
            }
            s.value = null;
            free.push(s);
        }
        for (Slot f : free) {
            if (f.ready != null) {
                f.ready.close();
            }
        }
        free.clear();
    }

    @Override
    public synchronized void releaseReaderEnd() {
        closed = true;
        if (readerDevice != null) {
            readerDevice.stream().synchronize(); // every copy out of a writer's source has run
            for (int i = 0; i < readerEvents.length; i++) {
                if (readerEvents[i] != null) {
                    readerEvents[i].close();
                    readerEvents[i] = null;
                }
            }
        }
        readerGone = true;
    }

    @Override
    public String toString() {
        return "PeerCopyChannel[" + name + ", capacity=" + capacity + "]";
    }
}
