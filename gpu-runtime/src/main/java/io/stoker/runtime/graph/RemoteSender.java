package io.stoker.runtime.graph;

/** The sending end of a cross-process edge: what a {@code sendTo} task calls with its array. Actor thread only. */
interface RemoteSender extends RemoteEnd {
    /** Moves {@code value} (a {@code DeviceArray} of this actor's device) to the other process; @return its bytes. */
    Long send(Object value);
}
