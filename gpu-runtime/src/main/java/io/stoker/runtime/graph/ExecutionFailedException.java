package io.stoker.runtime.graph;

/**
 * A task of one execution failed. The message names the execution, actor and method; {@link #getCause()} is what
 * the method threw. Other executions, earlier and later, are unaffected.
 */
public final class ExecutionFailedException extends GraphException {
    private static final long serialVersionUID = 1L;
    private final String actorName;
    private final String methodName;
    private final long execution;

    ExecutionFailedException(String message, String actorName, String methodName, long execution, Throwable cause) {
        super(message, cause);
        this.actorName = actorName;
        this.methodName = methodName;
        this.execution = execution;
    }

    /** @return the actor whose task failed (the function host for a function node) */
    public String actorName() {
        return actorName;
    }

    public String methodName() {
        return methodName;
    }

    /** @return the execution's sequence number */
    public long execution() {
        return execution;
    }
}
