package io.stoker.runtime.graph;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A submitted execution's pending result. Fetch it once, from any thread, in any order relative to other
 * executions: whole with {@link #get()}, or output by output with {@link #output(int)}. Until then it holds one of
 * the graph's {@link GraphOptions#maxInFlight()} result slots; {@link #discard()} or {@link #cancel()} give the slot
 * back when the result is not wanted.
 *
 * <p>{@link #get()} fails fast: when any output of the execution fails, it raises at once, naming the failed task,
 * without waiting for slower outputs, and the execution is consumed. Callers who want the outputs that succeeded
 * fetch them one by one instead: each {@link OutputRef#get()} waits only for its own output and raises only if that
 * output failed.
 *
 * <p>Thread-safety: one caller per reference for {@link #get()}; {@link #output(int)}, {@link #discard()} and
 * {@link #cancel()} may be called from any thread (fetches of one execution's outputs run one at a time).
 *
 * @param <O> result type (a {@code List<Object>} for graphs compiled with several outputs)
 */
public final class ExecutionRef<O> {
    final CompiledGraph<?, O> graph;
    final long ticket;
    private final long seq;
    private ExecutionTimings timings;
    // Consumer state, guarded by this reference's monitor (the whole-result path sets 'done' on the fetching thread).
    boolean claimed;
    volatile boolean done;
    boolean[] taken;
    int takenCount;

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
     * @throws ExecutionFailedException  a task failed (names the task, actor, method and cause); raised as soon as
     *                                   the first failed output arrives
     * @throws ExecutionTimeoutException the result did not arrive in time (it may be fetched again later)
     * @throws GraphUnavailableException the graph was closed or an actor died before the result arrived
     * @throws IllegalStateException     the result was already fetched, discarded, or is being fetched per output
     */
    public O get() {
        return graph.fetch(ticket, TimeUnit.MILLISECONDS.toNanos(graph.options().getTimeoutMillis()), this);
    }

    /** Like {@link #get()} with an explicit timeout. */
    public O get(long timeout, TimeUnit unit) {
        return graph.fetch(ticket, unit.toNanos(timeout), this);
    }

    /** @return true once the result is available or an output failed (a {@link #get()} would not wait) */
    public boolean isReady() {
        return done || graph.results().isReady(ticket);
    }

    /**
     * @param index the output's position among the graph's outputs (0 for a single-output graph)
     * @return a reference to that one output; see {@link OutputRef}
     * @throws IndexOutOfBoundsException naming the number of outputs
     */
    public <T> OutputRef<T> output(int index) {
        int n = graph.results().outputs();
        if (index < 0 || index >= n) {
            throw new IndexOutOfBoundsException("output " + index + " does not exist: graph '" + graph.name()
                    + "' has " + n + " output(s)");
        }
        return new OutputRef<>(this, index);
    }

    /** @return one {@link OutputRef} per graph output, in output order */
    public List<OutputRef<Object>> outputs() {
        int n = graph.results().outputs();
        List<OutputRef<Object>> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(new OutputRef<>(this, i));
        }
        return Collections.unmodifiableList(out);
    }

    /**
     * Drops the result: its slot is freed now, or as soon as the execution's last output arrives. The execution still
     * runs to the end. Does nothing when the result was already fetched. Idempotent.
     */
    public void discard() {
        graph.letGo(this, false);
    }

    /**
     * Like {@link #discard()}, and tasks of this execution that have not started yet are skipped: they pass a
     * {@link java.util.concurrent.CancellationException} downstream instead of running (collectives still meet, so
     * the other ranks stay in step). A task already running finishes.
     */
    public void cancel() {
        graph.letGo(this, true);
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
