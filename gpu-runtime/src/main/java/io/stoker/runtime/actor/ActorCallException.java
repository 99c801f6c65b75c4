package io.stoker.runtime.actor;

/** An actor method threw; the message names the actor and the method, the cause is what it threw. */
public final class ActorCallException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String actorName;
    private final String methodName;

    public ActorCallException(String actorName, String methodName, Throwable cause) {
        super("actor '" + actorName + "' method '" + methodName + "' failed: " + cause, cause);
        this.actorName = actorName;
        this.methodName = methodName;
    }

    public String actorName() {
        return actorName;
    }

    public String methodName() {
        return methodName;
    }
}
