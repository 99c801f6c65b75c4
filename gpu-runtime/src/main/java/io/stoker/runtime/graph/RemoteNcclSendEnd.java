package io.stoker.runtime.graph;

import io.stoker.runtime.comm.NcclCommunicator;
import io.stoker.runtime.cuda.DeviceArray;

/**
 * The sending end of a cross-process edge over NCCL ({@link RemoteEdge#withNccl}), the kind between hosts: each array
 * goes to the peer's NCCL rank as a header ({@link RemoteNcclHeader}) and then its data, in the communicator's order
 * with its other calls. The array was moved into the edge: it is freed once the send has left (stream order). Actor
 * thread only.
 */
final class RemoteNcclSendEnd implements RemoteSender {
    private final RemoteEdge edge;
    private final NcclCommunicator comm;
    private final int rank;

    RemoteNcclSendEnd(RemoteEdge edge, NcclCommunicator comm, int rank) {
        this.edge = edge;
        this.comm = comm;
        this.rank = rank;
    }

    @Override
    public Long send(Object value) {
        if (!(value instanceof DeviceArray a)) {
            throw new IllegalArgumentException("cross-process edge '" + edge.name() + "': sendTo takes a DeviceArray,"
                    + " got " + (value == null ? "null" : value.getClass().getName()));
        }
        try (a; DeviceArray header = RemoteNcclHeader.of(a, "edge-" + edge.name() + ".header")) {
            comm.sendTo(rank, header, edge.ncclPeerRank());
            comm.sendTo(rank, a, edge.ncclPeerRank());
            return a.bytes();
        }
    }

    @Override
    public void release() {
        // nothing held: the communicator belongs to the caller, who leaves and closes it
    }

    @Override
    public String toString() {
        return "sendTo[" + edge.name() + " -> NCCL rank " + edge.ncclPeerRank() + "]";
    }
}
