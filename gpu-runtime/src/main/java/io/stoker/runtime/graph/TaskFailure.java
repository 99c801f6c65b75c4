package io.stoker.runtime.graph;

/**
 * The value a failed task passes downstream instead of a result: downstream tasks skip and forward it, and the
 * caller of that execution gets an {@link ExecutionFailedException}. Never seen by user code.
 */
final class TaskFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final String actorName;
    final String methodName;
    final String taskLabel;
    final long execution;

    TaskFailure(String actorName, String methodName, String taskLabel, long execution, Throwable cause) {
        super("task " + taskLabel + " on actor '" + actorName + "' (method '" + methodName + "') failed on execution "
                + execution + ": " + cause, cause, false, false);
        this.actorName = actorName;
        this.methodName = methodName;
        this.taskLabel = taskLabel;
        this.execution = execution;
    }

    ExecutionFailedException toException(String graphName, long seq) {
        return new ExecutionFailedException("graph '" + graphName + "' execution " + seq + ": " + getMessage(),
                actorName, methodName, taskLabel, seq, getCause());
    }
}
