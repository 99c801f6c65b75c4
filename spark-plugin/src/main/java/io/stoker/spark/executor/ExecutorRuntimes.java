package io.stoker.spark.executor;

import org.apache.spark.SparkEnv;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Finds the {@link ExecutorRuntime} of the executor a task runs in. Entries are keyed by the driver plugin's session
 * token (one per SparkContext) and the executor id, added and removed by the executor plugin, so a second
 * SparkContext in the same JVM (local mode, where the executor lives in the driver JVM) gets its own runtime and
 * never sees a stale one.
 *
 * <p>Thread-safety: all methods may be called from any thread.
 */
public final class ExecutorRuntimes {
    private static final ConcurrentHashMap<String, ExecutorRuntime> RUNNING = new ConcurrentHashMap<>();

    private ExecutorRuntimes() {
    }

    static String key(String session, String executorId) {
        return session + "/" + executorId;
    }

    /** Called by the executor plugin's init. */
    public static void register(ExecutorRuntime rt) {
        RUNNING.put(key(rt.session(), rt.executorId()), rt);
    }

    /** Called by the executor plugin's shutdown; removes only this exact runtime. */
    public static void unregister(ExecutorRuntime rt) {
        RUNNING.remove(key(rt.session(), rt.executorId()), rt);
    }

    /** @return the runtime of this executor for the session, or null when Stoker's plugin is not running here */
    public static ExecutorRuntime find(String session, String executorId) {
        return RUNNING.get(key(session, executorId));
    }

    /**
     * @param session the driver plugin's session token, shipped with the task
     * @return the runtime of the executor the calling task runs in
     * @throws IllegalStateException naming the executor and the fix when Stoker's plugin is not running
     */
    public static ExecutorRuntime current(String session) {
        SparkEnv env = SparkEnv.get();
        if (env == null) {
            throw new IllegalStateException("no SparkEnv: Stoker's operator runs inside Spark tasks only");
        }
        ExecutorRuntime rt = find(session, env.executorId());
        if (rt == null) {
            throw new IllegalStateException("Stoker's runtime is not running on executor " + env.executorId()
                    + ": the executor plugin did not start (spark.stoker.enabled=false, or the plugin jar is missing"
                    + " from the executors' classpath: pass it with --jars) or the executor is shutting down");
        }
        return rt;
    }
}
