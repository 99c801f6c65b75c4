package io.stoker.runtime.internal;

/**
 * Work an actor's thread drives cooperatively besides eager calls: a compiled graph's schedule for this actor.
 *
 * <p>Called only by the actor's thread, except {@link #onActorDeath}, which the thread that kills the actor may call
 * too (implementations make it idempotent). {@link #doWork} must never block: it advances as far as its inputs allow
 * and returns, so several programs (several compiled graphs) can share one actor without waiting on each other.
 */
public interface ActorProgram {
    /**
     * Advances the program.
     *
     * @param actor the actor's state object
     * @return units of work done (0 when waiting for input)
     */
    int doWork(Object actor);

    /** @return true when input is waiting, checked just before the actor parks */
    boolean hasPendingInput();

    /** Called when the actor dies or is killed, so the owning graph can fail fast. Idempotent. */
    void onActorDeath(Throwable cause);

    /** @return a short name for diagnostics */
    String name();

    /**
     * Called on the actor's thread once the program is removed (its graph closed) or the actor ends, before the
     * actor's state is closed: the place to release resources bound to this thread (device memory a GPU channel
     * still holds). Never called twice.
     */
    default void onRemoved() {
    }
}
