package io.stoker.runtime.actor;

/**
 * An actor state with work of its own besides eager calls and graph steps, done on the actor's thread: for state that
 * must stay on one thread, such as an engine whose CUDA context belongs to the thread that created it. On each pass
 * of its loop the actor's thread drains its mailbox, advances its graph programs, then calls
 * {@link #doBackgroundWork()}; it idles only when the pass did no work and {@link #hasBackgroundWork()} is false.
 * Keep one call short (one engine step): calls and graph steps wait for it.
 *
 * <p>An exception thrown by {@link #doBackgroundWork()} kills the actor; handle what you can inside.
 */
public interface BackgroundWork {
    /** @return how much work was done (0 = none, so the thread may idle) */
    int doBackgroundWork();

    /** @return true when background work is pending, so the thread must not park (checked just before parking) */
    default boolean hasBackgroundWork() {
        return false;
    }
}
