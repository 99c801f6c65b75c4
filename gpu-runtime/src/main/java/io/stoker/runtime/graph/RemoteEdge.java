package io.stoker.runtime.graph;

import io.stoker.runtime.channel.ActorLocation;
import io.stoker.runtime.channel.SharedMemoryChannel;
import io.stoker.runtime.comm.Communicator;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * One half of a graph edge that crosses processes: a {@code DeviceArray} sent by a graph of one process
 * ({@link GraphBuilder#sendTo}) and received by a graph of another ({@link GraphBuilder#receiveFrom}). Each process
 * compiles its own half with the same {@link #name()}, naming the other side's actor as its {@link #peer()}; the two
 * halves meet when both graphs are compiled.
 *
 * <p>The compiler picks the transport from the two locations: two processes on one host use CUDA IPC (the receiving
 * side owns {@link #slots()} device buffers of {@link #slotBytes()} each, the sending side copies into them); two hosts
 * use NCCL send/recv over the communicator given with {@link #withNccl} (an {@code NcclCommunicator} spanning both
 * processes, {@code NcclCommunicator.spanning}), and are refused without one; the same process is refused (use a
 * normal edge). With {@link #withNccl} the edge uses NCCL wherever the peer is.
 *
 * <p>Immutable; the {@code with*} methods return copies. Defaults: 4 slots of 1 MiB, {@code /dev/shm}
 * ({@link SharedMemoryChannel#defaultDirectory()}), 30 s timeout.
 *
 * @see GraphBuilder#sendTo
 * @see GraphBuilder#receiveFrom
 */
public final class RemoteEdge {
    private static final int MAX_SLOTS = 1024;

    private final String name;
    private final ActorLocation peer;
    private final Path directory;
    private final int slots;
    private final long slotBytes;
    private final Duration timeout;
    private final Communicator nccl;
    private final int ncclPeerRank;

    private RemoteEdge(String name, ActorLocation peer, Path directory, int slots, long slotBytes, Duration timeout,
                       Communicator nccl, int ncclPeerRank) {
        this.name = name;
        this.peer = peer;
        this.directory = directory;
        this.slots = slots;
        this.slotBytes = slotBytes;
        this.timeout = timeout;
        this.nccl = nccl;
        this.ncclPeerRank = ncclPeerRank;
    }

    /**
     * An edge named {@code name} whose other end runs at {@code peer} (the receiving actor's location for a sender,
     * the sending actor's for a receiver).
     *
     * @throws IllegalArgumentException naming the bad argument
     */
    public static RemoteEdge of(String name, ActorLocation peer) {
        if (name == null || !name.matches("[A-Za-z0-9._-]{1,100}")) {
            throw new IllegalArgumentException("RemoteEdge name '" + name + "' must be 1 to 100 characters of"
                    + " letters, digits, '.', '_' or '-' (it names the rendezvous files)");
        }
        if (peer == null) {
            throw new IllegalArgumentException("RemoteEdge '" + name + "': peer is null; give the other side's"
                    + " ActorLocation (host, process id, GPU)");
        }
        if (peer.gpu() == null) {
            throw new IllegalArgumentException("RemoteEdge '" + name + "': peer " + peer + " has no GPU; a"
                    + " cross-process edge carries device memory between two GPU actors");
        }
        return new RemoteEdge(name, peer, SharedMemoryChannel.defaultDirectory(), 4, 1L << 20, Duration.ofSeconds(30),
                null, -1);
    }

    /** @return where the rendezvous file and the rings are made (both sides must use the same) */
    public RemoteEdge withDirectory(Path dir) {
        if (dir == null) {
            throw new IllegalArgumentException("RemoteEdge '" + name + "': directory is null");
        }
        return new RemoteEdge(name, peer, dir, slots, slotBytes, timeout, nccl, ncclPeerRank);
    }

    /** @return this edge with {@code n} receive slots (1..1024): arrays in flight between the two processes */
    public RemoteEdge withSlots(int n) {
        if (n < 1 || n > MAX_SLOTS) {
            throw new IllegalArgumentException("RemoteEdge '" + name + "': slots=" + n + " must be 1.." + MAX_SLOTS);
        }
        return new RemoteEdge(name, peer, directory, n, slotBytes, timeout, nccl, ncclPeerRank);
    }

    /** @return this edge with slots of {@code bytes} each: the largest array it carries */
    public RemoteEdge withSlotBytes(long bytes) {
        if (bytes < 1) {
            throw new IllegalArgumentException("RemoteEdge '" + name + "': slotBytes=" + bytes + " must be >= 1");
        }
        return new RemoteEdge(name, peer, directory, slots, bytes, timeout, nccl, ncclPeerRank);
    }

    /**
     * @return this edge waiting at most {@code t} for the other side: the sender's compile for the receiver's channel,
     * and each send for a free slot
     */
    public RemoteEdge withTimeout(Duration t) {
        if (t == null || t.isNegative() || t.isZero()) {
            throw new IllegalArgumentException("RemoteEdge '" + name + "': timeout=" + t + " must be positive");
        }
        return new RemoteEdge(name, peer, directory, slots, slotBytes, t, nccl, ncclPeerRank);
    }

    /**
     * @param comm     an {@code NcclCommunicator} spanning both processes (this side's actor one of its local ranks,
     *                 and joined before the graph runs)
     * @param peerRank the other side's NCCL rank in it ({@code firstRank} of the other process's part)
     * @return this edge carried by NCCL send/recv over {@code comm}: each array goes as a small header (type, count)
     * and its data, in the communicator's order with its other calls, which both processes must issue alike
     */
    public RemoteEdge withNccl(Communicator comm, int peerRank) {
        if (comm == null) {
            throw new IllegalArgumentException("RemoteEdge '" + name + "': communicator is null");
        }
        if (peerRank < 0) {
            throw new IllegalArgumentException("RemoteEdge '" + name + "': peerRank=" + peerRank + " must be >= 0");
        }
        return new RemoteEdge(name, peer, directory, slots, slotBytes, timeout, comm, peerRank);
    }

    public String name() {
        return name;
    }

    /** @return the communicator of {@link #withNccl}, or null (CUDA IPC on one host) */
    public Communicator nccl() {
        return nccl;
    }

    /** @return the peer's NCCL rank of {@link #withNccl}, or -1 */
    public int ncclPeerRank() {
        return ncclPeerRank;
    }

    /** @return the other side's actor location */
    public ActorLocation peer() {
        return peer;
    }

    public Path directory() {
        return directory;
    }

    public int slots() {
        return slots;
    }

    public long slotBytes() {
        return slotBytes;
    }

    public Duration timeout() {
        return timeout;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RemoteEdge e && name.equals(e.name) && peer.equals(e.peer) && directory.equals(e.directory)
                && slots == e.slots && slotBytes == e.slotBytes && timeout.equals(e.timeout) && nccl == e.nccl
                && ncclPeerRank == e.ncclPeerRank;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, peer, directory, slots, slotBytes, timeout, System.identityHashCode(nccl),
                ncclPeerRank);
    }

    @Override
    public String toString() {
        return "RemoteEdge[" + name + ", peer=" + peer + (nccl != null ? ", nccl=" + nccl.name() + " rank " + ncclPeerRank
                : ", slots=" + slots + "x" + slotBytes + " B, dir=" + directory) + ", timeout=" + timeout.toMillis()
                + " ms]";
    }
}
