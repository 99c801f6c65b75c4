package io.stoker.runtime.channel;

/** Where a channel's two ends live, which decides how a payload crosses it. */
public enum ChannelKind {
    /** Producer and consumer run on the same actor thread: the reference is handed over, no synchronisation. */
    LOCAL,
    /** Different threads of one JVM: a lock-free single-producer single-consumer ring of references. */
    RING,
    /** Different processes on one node: Arrow IPC frames in a memory-mapped ring. */
    SHARED_MEMORY,
    /** Device memory between GPU actors (NCCL or CUDA IPC); provided by the CUDA layer. */
    GPU
}
