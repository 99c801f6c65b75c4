package io.stoker.runtime.comm;

/** The collectives a {@link Communicator} offers; every member of the group must enter the same ones in the same order. */
public enum CollectiveKind {
    /** Every rank gets the element-wise reduction of all ranks' buffers. */
    ALLREDUCE,
    /** Every rank gets all ranks' buffers concatenated in rank order. */
    ALLGATHER,
    /** The reduction is split into world-size equal chunks; rank r gets chunk r. */
    REDUCESCATTER;

    /** @return the name used in graphs, DOT output and errors */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
