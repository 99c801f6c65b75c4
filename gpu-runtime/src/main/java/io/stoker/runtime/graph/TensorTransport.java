package io.stoker.runtime.graph;

import io.stoker.runtime.comm.Communicator;

import java.util.Objects;

/**
 * How a node's value (a {@code DeviceArray}) travels to the task that reads it when both run on GPU actors; set
 * with {@link Node#withTensorTransport}. Without one, values cross as references (host objects).
 *
 * <ul>
 *   <li>{@link #AUTO}: the compiler picks from where the actors live ({@code GpuChannelPlanner}): the same actor
 *       hands the reference over; two GPUs of this process get a peer copy.</li>
 *   <li>{@link #nccl(Communicator)}: NCCL send/recv over an NCCL communicator both actors belong to, in the
 *       communicator's one order with its collectives (the transport between nodes, and a choice within one).</li>
 * </ul>
 * A value sent over a GPU transport is moved: its one reader gets a new array on its own device, and the source is
 * freed on the writer once copied.
 */
public final class TensorTransport {
    /** Picked from where the two actors live. */
    public static final TensorTransport AUTO = new TensorTransport(null);

    private final Communicator nccl;

    private TensorTransport(Communicator nccl) {
        this.nccl = nccl;
    }

    /** NCCL send/recv over {@code comm} (an {@code NcclCommunicator}). */
    public static TensorTransport nccl(Communicator comm) {
        return new TensorTransport(Objects.requireNonNull(comm, "communicator"));
    }

    /** @return the communicator for NCCL send/recv, or null for {@link #AUTO} */
    public Communicator communicator() {
        return nccl;
    }

    @Override
    public String toString() {
        return nccl == null ? "auto" : "nccl(" + nccl.name() + ")";
    }
}
