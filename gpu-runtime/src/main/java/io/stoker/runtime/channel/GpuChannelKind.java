package io.stoker.runtime.channel;

import java.util.Locale;

/** How a GPU channel moves device memory; {@link GpuChannelPlanner} picks it from where the two actors live. */
public enum GpuChannelKind {
    /** The same GPU in one process (one actor): the reference is handed over, ordered by the device's stream. */
    HAND_OVER,
    /** Two GPUs in one process: the reader copies from the writer's device ({@code cuMemcpyPeerAsync}). */
    PEER_COPY,
    /** Two processes on one node: device memory shared through CUDA IPC handles ({@code CudaIpcChannel}). */
    CUDA_IPC,
    /** Across nodes (or by choice): NCCL send/recv over a communicator both actors belong to. */
    NCCL;

    /** @return the name used in DOT output and messages, e.g. {@code peer_copy} */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
