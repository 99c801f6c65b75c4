package io.stoker.runtime.actor;

/** Thrown for work sent to an actor that died (its thread ended, it was killed, or it was closed). */
public final class ActorDiedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String actorName;

    public ActorDiedException(String actorName, String message, Throwable cause) {
        super(message, cause);
        this.actorName = actorName;
    }

    public String actorName() {
        return actorName;
    }
}
