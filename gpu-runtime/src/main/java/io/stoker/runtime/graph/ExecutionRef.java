package io.stoker.runtime.graph;

import java.util.concurrent.TimeUnit;

/**
 * A submitted execution's pending result. Fetch it once, from any thread, in any order relative to other
 * executions. Not thread-safe: one caller per reference.
 *
 * @param <O> result type
 */
public final class ExecutionRef<O> {
    private final CompiledGraph<?, O> graph;
    private final long ticket;
    private final long seq;
    private ExecutionTimings timings;

    ExecutionRef(CompiledGraph<?, O> graph, long ticket) {
        this.graph = graph;
        this.ticket = ticket;
        this.seq = CompiledGraph.sequenceOf(ticket);
    }

    /** @return the execution's sequence number within its graph (0, 1, 2, ... in submit order) */
    public long sequence() {
        return seq;
    }

    /**
     * Waits up to the graph's default get timeout and returns the result.
     *
     * @throws ExecutionFailedException  a task failed (names actor, method and cause)
     * @throws ExecutionTimeoutException the result did not arrive in time (it may be fetched again later)
     * @throws GraphUnavailableException the graph was closed or an actor died before the result arrived
     * @throws IllegalStateException     the result was already fetched
     */
    public O get() {
        return graph.fetch(ticket, TimeUnit.MILLISECONDS.toNanos(graph.options().getTimeoutMillis()), this);
    }

    /** Like {@link #get()} with an explicit timeout. */
    public O get(long timeout, TimeUnit unit) {
        return graph.fetch(ticket, unit.toNanos(timeout), this);
    }

    /** @return true once the result is available (a {@link #get()} would not wait) */
    public boolean isReady() {
        return graph.results().isReady(ticket);
    }

    /**
     * @return where this execution's time went
     * @throws IllegalStateException before the result was fetched, or when the graph runs without timings
     */
    public ExecutionTimings timings() {
        if (timings == null) {
            throw new IllegalStateException("timings of execution " + seq + " are available after get() on a graph"
                    + " compiled with GraphOptions.timings(true)");
        }
        return timings;
    }

    void recordTimings(ExecutionTimings t) {
        this.timings = t;
    }

    @Override
    public String toString() {
        return "ExecutionRef[" + graph.name() + "#" + seq + "]";
    }
}
