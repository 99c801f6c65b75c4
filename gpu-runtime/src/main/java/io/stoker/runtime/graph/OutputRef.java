package io.stoker.runtime.graph;

import java.util.concurrent.TimeUnit;

/**
 * One output of a submitted execution, fetched on its own: {@link #get()} waits only for this output, returns it
 * even when another output of the same execution failed, and raises {@link ExecutionFailedException} (naming the
 * failed task) only when this output failed. Each output can be fetched once; the execution's result slot is freed
 * when every output was fetched or the execution was {@link ExecutionRef#discard() discarded}.
 *
 * <p>Fetching outputs one by one and {@link ExecutionRef#get()} exclude each other: once one output was fetched, the
 * whole result is no longer available, and vice versa.
 *
 * @param <T> the output's type
 */
public final class OutputRef<T> {
    private final ExecutionRef<?> execution;
    private final int index;

    OutputRef(ExecutionRef<?> execution, int index) {
        this.execution = execution;
        this.index = index;
    }

    /** @return the output's position among the graph's outputs */
    public int index() {
        return index;
    }

    /** @return the execution this output belongs to */
    public ExecutionRef<?> execution() {
        return execution;
    }

    /**
     * Waits up to the graph's default get timeout for this output.
     *
     * @throws ExecutionFailedException  this output failed (names the failed task)
     * @throws ExecutionTimeoutException it did not arrive in time (it may be fetched again later)
     * @throws GraphUnavailableException the graph was closed or an actor died before it arrived
     * @throws IllegalStateException     it was already fetched, or the execution was fetched whole or discarded
     */
    public T get() {
        return get(execution.graph.options().getTimeoutMillis(), TimeUnit.MILLISECONDS);
    }

    /** Like {@link #get()} with an explicit timeout. */
    @SuppressWarnings("unchecked")
    public T get(long timeout, TimeUnit unit) {
        return (T) execution.graph.fetchOutput(execution, index, unit.toNanos(timeout));
    }

    /** @return true once this output has arrived (a {@link #get()} would not wait) */
    public boolean isReady() {
        return execution.graph.isOutputReady(execution, index);
    }

    @Override
    public String toString() {
        return "OutputRef[" + execution.graph.name() + "#" + execution.sequence() + ", output " + index + "]";
    }
}
