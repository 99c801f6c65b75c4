package io.stoker.runtime.graph;

/**
 * A task of one execution failed. The message names the execution, the failed task, its actor and method;
 * {@link #getCause()} is what the method threw. Other executions, earlier and later, are unaffected.
 *
 * <p>Raised as soon as the first failed output of the execution arrives, without waiting for slower outputs
 * (fast failure). To keep the outputs that succeeded, fetch them one by one ({@link ExecutionRef#output(int)}).
 */
public final class ExecutionFailedException extends GraphException {
    private static final long serialVersionUID = 1L;
    private final String actorName;
    private final String methodName;
    private final String taskLabel;
    private final long execution;

    ExecutionFailedException(String message, String actorName, String methodName, String taskLabel, long execution,
                             Throwable cause) {
        super(message, cause);
        this.actorName = actorName;
        this.methodName = methodName;
        this.taskLabel = taskLabel;
        this.execution = execution;
    }

    /** @return the actor whose task failed (the function host for a function node) */
    public String actorName() {
        return actorName;
    }

    public String methodName() {
        return methodName;
    }

    /** @return the failed task's label, e.g. {@code "shard1.forward"} */
    public String taskLabel() {
        return taskLabel;
    }

    /** @return the execution's sequence number */
    public long execution() {
        return execution;
    }
}
