package io.stoker.runtime.graph;

/** The sending end of a cross-process edge: what a {@code sendTo} task calls with its array. Actor thread only. */
interface RemoteSender extends RemoteEnd {
    /** Moves {@code value} (a {@code DeviceArray} of this actor's device) to the other process; @return its bytes. */
    Long send(Object value);

    /**
     * Hands over what earlier sends queued and has become ready (never waits); the actor calls it on every pass.
     *
     * @return how many arrays were handed over
     */
    default int progress() {
        return 0;
    }

    /** @return true while arrays sent are still to be handed over (the actor keeps polling instead of parking) */
    default boolean hasPending() {
        return false;
    }
}
