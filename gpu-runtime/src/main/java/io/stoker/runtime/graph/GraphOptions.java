package io.stoker.runtime.graph;

import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;

/**
 * How a graph is compiled and executed. Immutable; {@code with*} methods return copies.
 *
 * @param name               graph name used in errors, metrics and traces (null: generated)
 * @param maxInFlight        executions submitted but not yet fetched; every channel holds this many values, so a
 *                           write never waits (default 16; Ray's is 10)
 * @param backpressure       what {@code execute} does at {@code maxInFlight}
 * @param submitTimeoutMillis how long a {@link BackpressurePolicy#WAIT} submit waits for capacity (default 10 s)
 * @param getTimeoutMillis   default wait of {@code ExecutionRef.get()} (default 60 s)
 * @param teardownTimeoutMillis how long {@code close()} waits for actors to drop the graph (default 30 s)
 * @param taskTimeoutMillis  longest a single task may run; a task still running after it is treated like a crash:
 *                           its actor is killed, which fails its pending executions at once (0, the default: no limit)
 * @param timings            record per-execution timings and a trace of recent executions (two clock reads per task)
 * @param traceCapacity      executions kept for the Chrome trace (rounded to a power of two)
 * @param asyncExecutor      where {@code executeAsync} futures are completed (never an actor thread)
 */
public record GraphOptions(String name, int maxInFlight, BackpressurePolicy backpressure, long submitTimeoutMillis,
                           long getTimeoutMillis, long teardownTimeoutMillis, long taskTimeoutMillis, boolean timings,
                           int traceCapacity, Executor asyncExecutor) {

    public GraphOptions {
        if (maxInFlight < 1 || maxInFlight > (1 << 20)) {
            throw new IllegalArgumentException("maxInFlight=" + maxInFlight + " must be between 1 and 1048576");
        }
        if (backpressure == null) {
            throw new IllegalArgumentException("backpressure must not be null");
        }
        if (submitTimeoutMillis < 0 || getTimeoutMillis < 0 || teardownTimeoutMillis < 0 || taskTimeoutMillis < 0) {
            throw new IllegalArgumentException("timeouts must be >= 0 ms (submit=" + submitTimeoutMillis + ", get="
                    + getTimeoutMillis + ", teardown=" + teardownTimeoutMillis + ", task=" + taskTimeoutMillis + ")");
        }
        if (traceCapacity < 1) {
            throw new IllegalArgumentException("traceCapacity=" + traceCapacity + " must be >= 1");
        }
        if (asyncExecutor == null) {
            throw new IllegalArgumentException("asyncExecutor must not be null");
        }
    }

    public static GraphOptions defaults() {
        return new GraphOptions(null, 16, BackpressurePolicy.WAIT, 10_000, 60_000, 30_000, 0, true, 1024,
                ForkJoinPool.commonPool());
    }

    public GraphOptions withName(String n) {
        return new GraphOptions(n, maxInFlight, backpressure, submitTimeoutMillis, getTimeoutMillis,
                teardownTimeoutMillis, taskTimeoutMillis, timings, traceCapacity, asyncExecutor);
    }

    public GraphOptions withMaxInFlight(int n) {
        return new GraphOptions(name, n, backpressure, submitTimeoutMillis, getTimeoutMillis, teardownTimeoutMillis,
                taskTimeoutMillis, timings, traceCapacity, asyncExecutor);
    }

    public GraphOptions withBackpressure(BackpressurePolicy p) {
        return new GraphOptions(name, maxInFlight, p, submitTimeoutMillis, getTimeoutMillis, teardownTimeoutMillis,
                taskTimeoutMillis, timings, traceCapacity, asyncExecutor);
    }

    public GraphOptions withSubmitTimeoutMillis(long ms) {
        return new GraphOptions(name, maxInFlight, backpressure, ms, getTimeoutMillis, teardownTimeoutMillis,
                taskTimeoutMillis, timings, traceCapacity, asyncExecutor);
    }

    public GraphOptions withGetTimeoutMillis(long ms) {
        return new GraphOptions(name, maxInFlight, backpressure, submitTimeoutMillis, ms, teardownTimeoutMillis,
                taskTimeoutMillis, timings, traceCapacity, asyncExecutor);
    }

    public GraphOptions withTeardownTimeoutMillis(long ms) {
        return new GraphOptions(name, maxInFlight, backpressure, submitTimeoutMillis, getTimeoutMillis, ms,
                taskTimeoutMillis, timings, traceCapacity, asyncExecutor);
    }

    /** Fails a task that runs longer than {@code ms} by killing its actor (0: no limit). */
    public GraphOptions withTaskTimeoutMillis(long ms) {
        return new GraphOptions(name, maxInFlight, backpressure, submitTimeoutMillis, getTimeoutMillis,
                teardownTimeoutMillis, ms, timings, traceCapacity, asyncExecutor);
    }

    public GraphOptions withTimings(boolean on) {
        return new GraphOptions(name, maxInFlight, backpressure, submitTimeoutMillis, getTimeoutMillis,
                teardownTimeoutMillis, taskTimeoutMillis, on, traceCapacity, asyncExecutor);
    }

    public GraphOptions withTraceCapacity(int n) {
        return new GraphOptions(name, maxInFlight, backpressure, submitTimeoutMillis, getTimeoutMillis,
                teardownTimeoutMillis, taskTimeoutMillis, timings, n, asyncExecutor);
    }

    public GraphOptions withAsyncExecutor(Executor e) {
        return new GraphOptions(name, maxInFlight, backpressure, submitTimeoutMillis, getTimeoutMillis,
                teardownTimeoutMillis, taskTimeoutMillis, timings, traceCapacity, e);
    }
}
