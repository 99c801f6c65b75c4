package io.stoker.runtime.graph;

import io.stoker.runtime.comm.NcclCommunicator;
import io.stoker.runtime.cuda.CudaDataType;
import io.stoker.runtime.cuda.CudaEvent;
import io.stoker.runtime.cuda.DeviceArray;

/**
 * The receiving end of a cross-process edge over NCCL ({@link RemoteEdge#withNccl}): when its execution starts it
 * posts the receive of the next header, and polls (never waits on the host) until the header has arrived; then it
 * receives the data into a new array on this device, which the {@code receiveFrom} task owns (ready in stream order).
 * A peer that fails or never sends surfaces as the communicator's error, naming the calls. Actor thread only.
 */
final class RemoteNcclReceiveEnd implements RemoteReceiver {
    private final RemoteEdge edge;
    private final NcclCommunicator comm;
    private final int rank;
    private DeviceArray header;
    private CudaEvent headerArrived;
    private boolean released;

    RemoteNcclReceiveEnd(RemoteEdge edge, NcclCommunicator comm, int rank) {
        this.edge = edge;
        this.comm = comm;
        this.rank = rank;
    }

    @Override
    public Object poll() {
        if (released) {
            return null;
        }
        if (header == null) {
            header = comm.recvFrom(rank, edge.ncclPeerRank(), CudaDataType.F32, RemoteNcclHeader.LENGTH);
            headerArrived = header.device().newSyncEvent();
            headerArrived.record(header.device().stream());
        }
        if (!headerArrived.isDone()) {
            return null;
        }
        RemoteNcclHeader h;
        try {
            h = RemoteNcclHeader.read(header, edge.name());
        } finally {
            dropHeader();
        }
        return comm.recvFrom(rank, edge.ncclPeerRank(), h.type(), h.count());
    }

    private void dropHeader() {
        if (header != null) {
            header.close();
            header = null;
        }
        if (headerArrived != null) {
            headerArrived.close();
            headerArrived = null;
        }
    }

    @Override
    public boolean hasValue() {
        return !released && header != null; // a header in flight: keep polling it
    }

    @Override
    public boolean isClosed() {
        return released;
    }

    @Override
    public void release() {
        if (!released) {
            released = true;
            dropHeader();
        }
    }

    @Override
    public String toString() {
        return "receiveFrom[" + edge.name() + " <- NCCL rank " + edge.ncclPeerRank() + "]";
    }
}
