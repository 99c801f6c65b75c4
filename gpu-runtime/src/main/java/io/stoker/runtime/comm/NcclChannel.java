package io.stoker.runtime.comm;

import io.stoker.runtime.channel.DeviceChannel;
import io.stoker.runtime.channel.GpuChannelKind;
import io.stoker.runtime.cuda.CudaEvent;
import io.stoker.runtime.cuda.DeviceArray;
import org.agrona.concurrent.OneToOneConcurrentArrayQueue;

/**
 * A GPU channel from rank {@code from} to rank {@code to} of an {@link NcclCommunicator}: NCCL send/recv, the kind a
 * graph uses between nodes (or when asked for). Offering a {@link DeviceArray} (the channel takes ownership) gives the
 * transfer its ticket in the communicator's one order, queues the send for the writer and the receive for the
 * reader, and issues the writer's side at once; the reader issues its side (allocating the destination on its device)
 * when it polls, or whenever its rank issues anything. The reader gets a new array it owns; the source is freed on
 * the writer once the send is done. So sends and receives interleave with the communicator's collectives in the same
 * order on every rank, and nothing waits on the host.
 *
 * <p>Values that are not device arrays cross by reference, in order.
 *
 * <p>Thread-safety: one writer (rank {@code from}'s thread) and one reader (rank {@code to}'s thread).
 */
public final class NcclChannel implements DeviceChannel {
    /** One value in flight: a host value, or the receive of a device array. */
    private record Slot(Object value, NcclOp.Recv recv) {
    }

    private final String name;
    private final NcclCommunicator comm;
    private final int from;
    private final int to;
    private final int capacity;
    private final OneToOneConcurrentArrayQueue<Slot> pending;
    private final Runnable wakeReader;
    private volatile boolean closed;

    /**
     * @param from       the writer's rank
     * @param to         the reader's rank
     * @param capacity   values in flight
     * @param wakeReader called after each offer (the reader actor's wake-up hook)
     */
    public NcclChannel(String name, NcclCommunicator comm, int from, int to, int capacity, Runnable wakeReader) {
        if (from == to) {
            throw new IllegalArgumentException("NCCL channel " + name + ": rank " + from + " cannot send to itself");
        }
        if (from < 0 || to < 0 || from >= comm.worldSize() || to >= comm.worldSize()) {
            throw new IllegalArgumentException("NCCL channel " + name + ": ranks " + from + " -> " + to
                    + " are not both in communicator '" + comm.name() + "' of " + comm.worldSize() + " ranks");
        }
        this.name = name;
        this.comm = comm;
        this.from = from;
        this.to = to;
        this.pending = new OneToOneConcurrentArrayQueue<>(capacity);
        this.capacity = pending.capacity();
        this.wakeReader = wakeReader;
    }

    @Override
    public boolean offer(Object value) {
        if (closed || pending.size() >= capacity) {
            return false; // checked before taking a ticket: a ticket must always be followed by its transfer
        }
        if (value instanceof DeviceArray) {
            DeviceArray a = (DeviceArray) value;
            NcclRank s = comm.rankState(from, "writing", name);
            if (a.device() != s.device) {
                throw new IllegalArgumentException("NCCL channel " + name + ": the array is on CUDA device "
                        + a.device().ordinal() + ", but the writer (rank " + from + ") runs on device "
                        + s.device.ordinal());
            }
            CudaEvent ready = s.markMain();
            NcclOp.Recv recv = new NcclOp.Recv(comm.ncclRank(from), a.type(), a.count(), name);
            NcclOp.Send send = new NcclOp.Send(a, comm.ncclRank(to), recv, ready);
            comm.sequence(send, from, recv, to);
            pending.offer(new Slot(null, recv));
            s.drain();
        } else {
            pending.offer(new Slot(value, null));
        }
        wakeReader.run();
        return true;
    }

    @Override
    public Object poll() {
        Slot slot = pending.peek();
        if (slot == null || closed) {
            return null;
        }
        if (slot.recv() == null) {
            pending.poll();
            return slot.value();
        }
        NcclRank r = comm.rankState(to, "reading", name);
        r.drain();
        if (!slot.recv().issued) {
            return null; // queued behind tickets this rank issues on a later poll (cannot stay so: drain issues all)
        }
        pending.poll();
        if (slot.recv().failure != null) {
            throw new CollectiveException("NCCL channel " + name + ": the receive failed: "
                    + slot.recv().failure.getMessage(), slot.recv().failure);
        }
        return slot.recv().complete(r);
    }

    @Override
    public boolean hasValue() {
        return !closed && !pending.isEmpty();
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
        return GpuChannelKind.NCCL;
    }

    @Override
    public void close() {
        closed = true;
    }

    /** Issues the writer's queued operations and frees the sources of received sends. Writer thread. */
    @Override
    public void releaseWriterEnd() {
        closed = true;
        if (comm.hasJoined(from)) {
            NcclRank s = comm.rankState(from, "releasing", name);
            s.drain();
            s.reapSends(true); // sends already received complete soon: free their sources now
        }
    }

    /** Issues the reader's queued receives (so the writer's sends complete) and frees what was never read. */
    @Override
    public void releaseReaderEnd() {
        closed = true;
        if (!comm.hasJoined(to)) {
            return;
        }
        NcclRank r = comm.rankState(to, "releasing", name);
        r.drain();
        Slot slot;
        while ((slot = pending.poll()) != null) {
            if (slot.recv() != null && slot.recv().issued && slot.recv().failure == null) {
                slot.recv().complete(r).close();
            }
        }
    }

    @Override
    public String toString() {
        return "NcclChannel[" + name + ", rank " + from + " -> " + to + "]";
    }
}
