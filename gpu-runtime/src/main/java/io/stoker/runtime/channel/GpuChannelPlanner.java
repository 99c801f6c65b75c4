package io.stoker.runtime.channel;

import java.util.Objects;

/**
 * Picks how device memory travels from one actor to another, from where they live: the same GPU of one process is a
 * hand-over, two GPUs of one process a peer copy, two processes on one node CUDA IPC, two nodes NCCL send/recv.
 */
public final class GpuChannelPlanner {
    private GpuChannelPlanner() {
    }

    /**
     * @throws IllegalArgumentException naming the side without a GPU
     */
    public static GpuChannelKind choose(ActorLocation writer, ActorLocation reader) {
        if (writer.gpu() == null || reader.gpu() == null) {
            throw new IllegalArgumentException("a GPU channel needs a GPU on both ends, but the "
                    + (writer.gpu() == null ? "writer" : "reader") + " has none");
        }
        if (!writer.host().equals(reader.host())) {
            return GpuChannelKind.NCCL;
        }
        if (writer.process() != reader.process()) {
            return GpuChannelKind.CUDA_IPC;
        }
        return Objects.equals(writer.gpu(), reader.gpu()) ? GpuChannelKind.HAND_OVER : GpuChannelKind.PEER_COPY;
    }
}
