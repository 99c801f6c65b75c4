package io.stoker.spark.plugin;

import java.io.Serializable;

/**
 * An executor plugin could not start (an eager actor pool failed: its class does not load, its constructor threw,
 * an artifact is missing, the executor lacks the GPUs it asks for). Sent with {@code ask} before the executor
 * fails, so the driver plugin can fail the application with the cause instead of letting the cluster manager start
 * replacement executors that fail the same way, forever.
 *
 * @param executorId Spark executor id
 * @param host       executor host
 * @param message    the failure, naming the pool and its cause
 */
record ExecutorStartFailure(String executorId, String host, String message) implements Serializable {
}
