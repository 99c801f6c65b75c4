package io.stoker.runtime.actor;

/** Lifecycle of an actor. */
public enum ActorState {
    /** The factory is running on the actor's thread. */
    STARTING,
    /** Serving eager calls and installed programs. */
    RUNNING,
    /** Stopped on request; its resources were returned. */
    CLOSED,
    /** Its thread ended abnormally or it was killed. */
    DEAD
}
