package io.stoker.runtime.graph;

import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.channel.Channel;
import io.stoker.runtime.channel.ResultRing;
import io.stoker.runtime.channel.RingChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A compiled graph installed on its actors, ready to execute many times.
 *
 * <p>{@link #execute} writes the input to the channels of the tasks that read it and returns at once; the actors run
 * their schedules and the outputs land in a pre-allocated result slot for that execution, so concurrent callers each
 * get their own result. Up to {@link GraphOptions#maxInFlight()} executions may be
 * submitted and not yet fetched; then {@code execute} waits or fails per {@link BackpressurePolicy}.
 *
 * <p>Failures: a task that throws fails only that execution ({@link ExecutionFailedException}); an actor that dies
 * fails every pending and later execution at once ({@link GraphUnavailableException}). {@link #close()} removes the
 * graph from its actors, which stay usable for new graphs.
 *
 * <p>Several graphs may share an actor. Each installed graph is an independent, non-blocking program on the actor's
 * thread: a task waiting for input or for collective peers never holds the thread, so the actor keeps running
 * other graphs' ready tasks, and graphs cannot deadlock each other. Within one graph, tasks on one actor run in
 * bind order (checked deadlock-free at compile time). Blocking calls made inside a user method (for example a
 * blocking collective) do hold the thread: graphs that share such actors must enter those calls in the same order.
 *
 * <p>Thread-safety: {@code execute}, {@code executeAsync} and fetching are safe from any number of threads.
 *
 * @param <I> input type
 * @param <O> result type
 */
public final class CompiledGraph<I, O> implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CompiledGraph.class);

    private final String name;
    private final StokerRuntime runtime;
    private final GraphOptions options;
    private final GraphLayout layout;
    private final boolean multi;
    private final ResultRing results;
    private final ResultRing.AbortCheck abortCheck = this::abortReason;
    private final ReentrantLock submitLock = new ReentrantLock();
    private final CompletableFuture<Object>[] asyncFutures;
    private final long[] execSeq;
    private final long[] execSubmit;
    private final long[] execEnd;
    private final int execMask;
    private final long createdNanos = System.nanoTime();

    private long nextSeq; // guarded by submitLock
    private RingChannel<Object>[] inputs;
    private List<GraphProgram> programs = List.of();
    private List<Channel<Object>> channels = List.of();
    private volatile RuntimeException failure;
    private volatile boolean closed;

    @SuppressWarnings("unchecked")
    CompiledGraph(String name, StokerRuntime runtime, GraphOptions options, GraphLayout layout, boolean multi) {
        this.name = name;
        this.runtime = runtime;
        this.options = options;
        this.layout = layout;
        this.multi = multi;
        this.results = new ResultRing(options.maxInFlight(), layout.outputs().size(), this::onAsyncReady);
        this.asyncFutures = new CompletableFuture[results.capacity()];
        int cap = Integer.highestOneBit(Math.max(1, options.traceCapacity()) * 2 - 1);
        this.execMask = cap - 1;
        this.execSeq = new long[cap];
        Arrays.fill(execSeq, -1);
        this.execSubmit = new long[cap];
        this.execEnd = new long[cap];
    }

    /** Installs the programs on their actors; on any failure removes what was installed and throws. */
    void start(List<GraphProgram> progs, RingChannel<Object>[] inputChannels, List<Channel<Object>> all) {
        this.programs = List.copyOf(progs);
        this.inputs = inputChannels;
        this.channels = List.copyOf(all);
        List<CompletableFuture<Void>> installs = new ArrayList<>();
        for (GraphProgram p : programs) {
            installs.add(p.actor().install(p));
        }
        try {
            CompletableFuture.allOf(installs.toArray(new CompletableFuture[0]))
                    .get(options.teardownTimeoutMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            closed = true;
            for (GraphProgram p : programs) {
                p.actor().uninstall(p);
            }
            Throwable cause = e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
            throw new GraphUnavailableException("graph '" + name + "' could not be installed on its actors: " + cause,
                    cause);
        }
        runtime.registerGraph(this);
        LOG.debug("graph '{}' compiled: {} tasks on {} actors, {} channels, capacity {}", name, layout.tasks().size(),
                programs.size(), channels.size(), results.capacity());
    }

    // ------------------------------------------------------------------------------------------ execute

    /**
     * Submits one execution. Returns once the input is in the channels (or fails per the backpressure policy).
     *
     * @param input the input value; may be null
     * @throws CapacityExceededException  when {@code maxInFlight} executions are unfetched (per policy)
     * @throws GraphUnavailableException  when the graph was closed or failed
     */
    public ExecutionRef<O> execute(I input) {
        return new ExecutionRef<>(this, submit(input));
    }

    /**
     * Submits one execution and returns its ticket: the allocation-free form of {@link #execute}; fetch the result
     * with {@link #await(long)}. {@link #sequenceOf(long)} gives the execution's sequence number.
     */
    public long submit(I input) {
        return submit0(input, null);
    }

    /**
     * Submits one execution whose result completes the returned future, on {@link GraphOptions#asyncExecutor()}.
     * The result is fetched automatically, freeing its slot.
     */
    public CompletableFuture<O> executeAsync(I input) {
        CompletableFuture<Object> f = new CompletableFuture<>();
        submit0(input, f);
        @SuppressWarnings("unchecked")
        CompletableFuture<O> typed = (CompletableFuture<O>) (CompletableFuture<?>) f;
        return typed;
    }

    /** Fetches the result of a {@link #submit}ted execution by its ticket, waiting up to the default get timeout. */
    public O await(long ticket) {
        return fetch(ticket, TimeUnit.MILLISECONDS.toNanos(options.getTimeoutMillis()), null);
    }

    /** Fetches the result of a {@link #submit}ted execution by its ticket, waiting up to {@code timeout}. */
    public O await(long ticket, long timeout, TimeUnit unit) {
        return fetch(ticket, unit.toNanos(timeout), null);
    }

    /** @return the sequence number (0, 1, 2, ... in submit order) of the execution a ticket names */
    public static long sequenceOf(long ticket) {
        return ResultRing.seqOf(ticket);
    }

    private long submit0(Object input, CompletableFuture<Object> async) {
        Object value = NullValue.wrap(input);
        submitLock.lock();
        try {
            RuntimeException abort = abortReason();
            if (abort != null) {
                throw abort;
            }
            long seq = nextSeq;
            int slot = results.acquire(seq, System.nanoTime(), async != null);
            if (slot < 0) {
                slot = waitForCapacity(seq, async != null);
            }
            asyncFutures[slot] = async;
            for (RingChannel<Object> ch : inputs) {
                if (!ch.offer(value)) {
                    GraphUnavailableException e = new GraphUnavailableException("graph '" + name + "': input channel "
                            + ch.name() + " refused execution " + seq + " (closed or full); the graph was torn down");
                    fail(e);
                    throw e;
                }
            }
            nextSeq = seq + 1;
            return ResultRing.ticket(seq, slot);
        } finally {
            submitLock.unlock();
        }
    }

    /** Waits (per policy) until a result slot is free and takes it for {@code seq}. */
    private int waitForCapacity(long seq, boolean async) {
        String why = "graph '" + name + "' has " + results.capacity() + " executions in flight (maxInFlight="
                + options.maxInFlight() + ") whose results have not been fetched";
        if (options.backpressure() == BackpressurePolicy.FAIL) {
            throw new CapacityExceededException(why + "; fetch results with get() before submitting more, raise"
                    + " GraphOptions.maxInFlight, or use BackpressurePolicy.WAIT");
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.submitTimeoutMillis());
        int tries = 0;
        while (true) {
            // Poll the pool itself: a slot being returned can show in the pool's size before it can be taken.
            int slot = results.acquire(seq, System.nanoTime(), async);
            if (slot >= 0) {
                return slot;
            }
            RuntimeException abort = abortReason();
            if (abort != null) {
                throw abort;
            }
            if (System.nanoTime() > deadline) {
                throw new CapacityExceededException(why + " after waiting " + options.submitTimeoutMillis()
                        + " ms; fetch results with get(), or raise GraphOptions.maxInFlight or submitTimeoutMillis");
            }
            if (++tries < 100) {
                Thread.onSpinWait();
            } else if (tries < 200) {
                Thread.yield();
            } else {
                LockSupport.parkNanos(50_000);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ fetch

    O fetch(long ticket, long timeoutNanos, ExecutionRef<O> ref) {
        long seq = ResultRing.seqOf(ticket);
        if (results.isClaimed(ticket)) {
            throw new IllegalStateException("graph '" + name + "' execution " + seq
                    + ": the result was already fetched; each result can be fetched once");
        }
        ResultRing.Slot s;
        try {
            s = results.await(ticket, timeoutNanos, runtime.config().idle(), abortCheck);
        } catch (TimeoutException e) {
            throw new ExecutionTimeoutException(timeoutMessage(seq, timeoutNanos));
        }
        if (!results.claim(ticket)) {
            throw new IllegalStateException("graph '" + name + "' execution " + seq
                    + ": the result was already fetched by another caller; each result can be fetched once");
        }
        return take(seq, s, ref);
    }

    @SuppressWarnings("unchecked")
    private O take(long seq, ResultRing.Slot s, ExecutionRef<O> ref) {
        Object value;
        TaskFailure failed = null;
        if (!multi) {
            value = s.value(0);
            if (value instanceof TaskFailure) {
                failed = (TaskFailure) value;
            }
            value = NullValue.unwrap(value);
        } else {
            Object[] out = new Object[results.outputs()];
            for (int i = 0; i < out.length; i++) {
                Object v = s.value(i);
                if (v instanceof TaskFailure && failed == null) {
                    failed = (TaskFailure) v;
                }
                out[i] = NullValue.unwrap(v);
            }
            value = Arrays.asList(out);
        }
        if (options.timings()) {
            long submit = s.submitNanos();
            long start = s.firstStartNanos();
            long end = s.endNanos();
            long compute = s.computeNanos();
            int i = (int) seq & execMask;
            execSubmit[i] = submit;
            execEnd[i] = end;
            execSeq[i] = seq;
            if (ref != null) {
                long queue = start == 0 ? 0 : Math.max(0, start - submit);
                long active = start == 0 ? 0 : end - start;
                ref.recordTimings(new ExecutionTimings(queue, compute, Math.max(0, active - compute), end - submit));
            }
        }
        results.release(s.index());
        if (failed != null) {
            throw failed.toException(name, seq);
        }
        return (O) value;
    }

    private void onAsyncReady(int slot) {
        options.asyncExecutor().execute(() -> completeAsync(slot));
    }

    private void completeAsync(int slot) {
        CompletableFuture<Object> f = asyncFutures[slot];
        ResultRing.Slot s = results.slotAt(slot);
        long seq = s.readySeq();
        if (!results.claim(ResultRing.ticket(seq, slot))) {
            return;
        }
        try {
            f.complete(take(seq, s, null));
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        }
    }

    private String timeoutMessage(long seq, long timeoutNanos) {
        List<String> busy = new ArrayList<>();
        for (GraphProgram p : programs) {
            String b = p.actor().busyDescription();
            if (b != null) {
                busy.add(b);
            }
        }
        return "graph '" + name + "' execution " + seq + " did not complete within "
                + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms; "
                + (busy.isEmpty() ? "no actor is inside a task (all wait for upstream values)" : "busy: " + busy)
                + ". The result can still be fetched later; raise the timeout if tasks are slow";
    }

    private RuntimeException abortReason() {
        RuntimeException f = failure;
        if (f != null) {
            return new GraphUnavailableException(f.getMessage(), f);
        }
        if (closed) {
            return new GraphUnavailableException("graph '" + name + "' was closed; compile a new graph to continue");
        }
        return null;
    }

    // ------------------------------------------------------------------------------------------ failure, teardown

    /** Fails every pending and later execution with {@code cause} and removes the graph from its live actors. */
    void fail(RuntimeException cause) {
        synchronized (this) {
            if (failure != null || closed) {
                return;
            }
            failure = cause;
        }
        LOG.error("graph '{}' failed: {}", name, cause.getMessage());
        results.wakeAll();
        failAsync(cause);
        for (GraphProgram p : programs) {
            if (p.actor().isAlive()) {
                p.actor().uninstall(p);
            }
        }
        runtime.unregisterGraph(this);
    }

    private void failAsync(RuntimeException cause) {
        for (CompletableFuture<Object> f : asyncFutures) {
            if (f != null && !f.isDone()) {
                f.completeExceptionally(new GraphUnavailableException(cause.getMessage(), cause));
            }
        }
    }

    /**
     * Tears the graph down: later executes fail, pending executions fail with {@link GraphUnavailableException},
     * every actor drops the graph's program (waiting up to the teardown timeout) and the channels are freed. The
     * actors stay alive for new graphs. Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        submitLock.lock();
        try {
            List<CompletableFuture<Void>> removals = new ArrayList<>();
            for (GraphProgram p : programs) {
                removals.add(p.actor().uninstall(p));
            }
            try {
                CompletableFuture.allOf(removals.toArray(new CompletableFuture[0]))
                        .get(options.teardownTimeoutMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                List<String> busy = new ArrayList<>();
                programs.forEach(p -> {
                    String b = p.actor().busyDescription();
                    if (b != null) {
                        busy.add(b);
                    }
                });
                LOG.warn("graph '{}': actors did not drop the graph within {} ms (busy: {})", name,
                        options.teardownTimeoutMillis(), busy);
            }
            channels.forEach(Channel::close);
            results.wakeAll();
            failAsync(new GraphUnavailableException("graph '" + name + "' was closed before the result arrived"));
        } finally {
            submitLock.unlock();
        }
        runtime.unregisterGraph(this);
        LOG.debug("graph '{}' closed", name);
    }

    // ------------------------------------------------------------------------------------------ introspection

    public String name() {
        return name;
    }

    public GraphOptions options() {
        return options;
    }

    public boolean isClosed() {
        return closed;
    }

    /** @return why the graph stopped accepting executions (an actor died), or null */
    public RuntimeException failure() {
        return failure;
    }

    /** @return the actors this graph runs on, in schedule order */
    public List<ActorHandle<?>> actors() {
        return List.copyOf(layout.schedules().keySet());
    }

    /** @return the max executions submitted and not yet fetched ({@link GraphOptions#maxInFlight()}) */
    public int capacity() {
        return results.capacity();
    }

    /** @return the number of channels allocated at compile time */
    public int channelCount() {
        return channels.size();
    }

    /** @return the graph in Graphviz DOT: tasks grouped by actor, data edges solid, ordering edges dashed */
    public String toDot() {
        return DotRenderer.graph(name, layout);
    }

    /** @return each actor's schedule in Graphviz DOT: ops in run order and the channels between them */
    public String scheduleToDot() {
        return DotRenderer.schedules(name, layout, channels);
    }

    /**
     * Writes recent executions as Chrome trace JSON (chrome://tracing, Perfetto): one span per task per execution on
     * its actor's row, and one span per fetched execution from submit to result. Needs timings on.
     */
    public void exportChromeTrace(Writer out) throws IOException {
        Objects.requireNonNull(out, "out");
        ChromeTrace.write(out, name, createdNanos, programs, execSeq, execSubmit, execEnd);
    }

    ResultRing results() {
        return results;
    }

    @Override
    public String toString() {
        return "CompiledGraph[" + name + ", tasks=" + layout.tasks().size() + ", actors=" + programs.size()
                + (closed ? ", closed" : failure != null ? ", failed" : "") + "]";
    }
}
