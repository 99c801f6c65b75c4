package io.stoker.runtime.graph;

import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.WaitPolicy;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.channel.Channel;
import io.stoker.runtime.channel.RingChannel;
import io.stoker.runtime.channel.StokerIdleStrategy;
import io.stoker.runtime.internal.ActorAccess;
import io.stoker.runtime.internal.ActorProgress;
import io.stoker.runtime.internal.ActorThread;
import io.stoker.runtime.internal.GraphScope;
import io.stoker.runtime.internal.ResultRing;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A compiled graph installed on its actors, ready to execute many times.
 *
 * <p>{@link #execute} writes the input to the channels of the tasks that read it and returns at once; the actors run
 * their schedules and the outputs land in a pre-allocated result slot for that execution, so concurrent callers each
 * get their own result. Up to {@link GraphOptions#maxInFlight()} executions may be submitted and not yet fetched (or
 * discarded); then {@code execute} waits or fails per {@link BackpressurePolicy}. Callers waiting for capacity wait
 * independently, without holding a lock against each other.
 *
 * <p>Failures: a task that throws fails only that execution ({@link ExecutionFailedException}), and the caller learns
 * of it as soon as the failed output arrives, not when the slowest output does; outputs that succeeded can still be
 * fetched one by one ({@link ExecutionRef#output(int)}). An actor that dies or is {@link ActorHandle#kill killed}
 * fails every pending and later execution at once ({@link GraphUnavailableException}); a result the killed actor
 * produces afterwards is dropped. {@link GraphOptions#taskTimeoutMillis()} fails a stuck task the same way.
 * {@link #close()} removes the graph from its actors, which stay usable for new graphs.
 *
 * <p>Several graphs may share an actor. Each installed graph is an independent, non-blocking program on the actor's
 * thread: a task waiting for input or for collective peers never holds the thread, so the actor keeps running
 * other graphs' ready tasks, and graphs cannot deadlock each other. Within one graph, tasks on one actor run in
 * bind order (checked deadlock-free at compile time). Collectives of different graphs are never matched with each
 * other, even over one communicator. Blocking calls made inside a user method (for example a blocking collective)
 * do hold the thread; see {@link io.stoker.runtime.comm.Communicator} for their ordering contract.
 *
 * <p>Thread-safety: {@code execute}, {@code executeAsync}, fetching and closing are safe from any number of threads.
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
    private final WaitPolicy waitPolicy;
    private final ThreadLocal<StokerIdleStrategy> callerIdle;
    private final java.util.function.Supplier<StokerIdleStrategy> callerIdleSupplier;
    private final Map<Long, ActorProgress> progress = new HashMap<>();
    private final GraphScope scope;

    private long nextSeq; // guarded by submitLock
    private RingChannel<Object>[] inputs;
    private List<GraphProgram> programs = List.of();
    private List<Channel<Object>> channels = List.of();
    private List<Runnable> releases = List.of();
    private ScheduledFuture<?> watchdog;
    private volatile RuntimeException failure;
    private volatile boolean closed;
    private final GraphSignals signals = new GraphSignals(); // closed or failed, cancelled: the actors' per-op checks
    private volatile boolean draining;

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
        this.waitPolicy = runtime.config().waitPolicy();
        this.callerIdle = ThreadLocal.withInitial(waitPolicy::newIdleStrategy);
        this.callerIdleSupplier = callerIdle::get;
        for (ActorHandle<?> a : layout.schedules().keySet()) {
            progress.put(a.id(), new ActorProgress(a.name()));
        }
        this.scope = new GraphScope(name, progress);
    }

    /** Installs the programs on their actors; on any failure removes what was installed and throws. */
    void start(List<GraphProgram> progs, RingChannel<Object>[] inputChannels, List<Channel<Object>> all,
               List<Runnable> communicatorReleases) {
        this.programs = List.copyOf(progs);
        this.inputs = inputChannels;
        this.channels = List.copyOf(all);
        this.releases = List.copyOf(communicatorReleases);
        List<CompletableFuture<Void>> installs = new ArrayList<>();
        for (GraphProgram p : programs) {
            installs.add(ActorAccess.get().install(p.actor(), p));
        }
        try {
            CompletableFuture.allOf(installs.toArray(new CompletableFuture[0]))
                    .get(options.teardownTimeoutMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            closed = true;
            signals.stop();
            for (GraphProgram p : programs) {
                ActorAccess.get().uninstall(p.actor(), p);
            }
            releases.forEach(Runnable::run);
            scope.close();
            Throwable cause = e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
            throw new GraphUnavailableException("graph '" + name + "' could not be installed on its actors: " + cause,
                    cause);
        }
        runtime.registerGraph(this);
        if (options.taskTimeoutMillis() > 0) {
            long period = Math.max(1, Math.min(100, options.taskTimeoutMillis() / 4));
            watchdog = runtime.scheduleWatchdog(this::checkTaskTimeouts, period);
        }
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
     * with {@link #await(long)} or drop it with {@link #discard(long)}. {@link #sequenceOf(long)} gives the
     * execution's sequence number.
     */
    public long submit(I input) {
        return submit0(input, null);
    }

    /**
     * Submits one execution whose result completes the returned future, on {@link GraphOptions#asyncExecutor()}.
     * The result is fetched automatically, freeing its slot. The future fails as soon as any output fails
     * ({@link ExecutionFailedException}, naming the failed task), without waiting for slower outputs.
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

    /**
     * Drops the result of a {@link #submit}ted execution: its slot is freed now or when its last output arrives.
     * Does nothing when the result was already fetched.
     */
    public void discard(long ticket) {
        if (results.claim(ticket)) {
            results.letGo(ticket);
        }
    }

    /** @return the sequence number (0, 1, 2, ... in submit order) of the execution a ticket names */
    public static long sequenceOf(long ticket) {
        return ResultRing.seqOf(ticket);
    }

    private long submit0(Object input, CompletableFuture<Object> async) {
        Object value = NullValue.wrap(input);
        long deadline = 0;
        while (true) {
            submitLock.lock();
            try {
                RuntimeException refused = submitRefusal();
                if (refused != null) {
                    throw refused;
                }
                long seq = nextSeq;
                int slot = results.acquire(seq, options.timings() ? System.nanoTime() : 0L, async != null);
                if (slot >= 0) {
                    asyncFutures[slot] = async;
                    for (RingChannel<Object> ch : inputs) {
                        if (!ch.offer(value)) {
                            GraphUnavailableException e = new GraphUnavailableException("graph '" + name
                                    + "': input channel " + ch.name() + " refused execution " + seq
                                    + " (closed or full); the graph was torn down");
                            fail(e);
                            throw e;
                        }
                    }
                    nextSeq = seq + 1;
                    return ResultRing.ticket(seq, slot);
                }
            } finally {
                submitLock.unlock();
            }
            // No slot: wait for one without holding the lock, so other submitters wait (and time out) in parallel.
            if (options.backpressure() == BackpressurePolicy.FAIL) {
                throw new CapacityExceededException(capacityMessage() + "; fetch results with get() before submitting"
                        + " more, raise GraphOptions.maxInFlight, or use BackpressurePolicy.WAIT");
            }
            if (deadline == 0) {
                deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.submitTimeoutMillis());
            }
            if (!results.awaitFreeSlot(deadline, callerIdle.get(), this::submitRefusal)) {
                throw new CapacityExceededException(capacityMessage() + " after waiting "
                        + options.submitTimeoutMillis() + " ms; fetch results with get(), discard unwanted ones, or"
                        + " raise GraphOptions.maxInFlight or submitTimeoutMillis");
            }
        }
    }

    private String capacityMessage() {
        return "graph '" + name + "' has " + results.capacity() + " executions in flight (maxInFlight="
                + options.maxInFlight() + ") whose results have not been fetched";
    }

    // ------------------------------------------------------------------------------------------ fetch

    O fetch(long ticket, long timeoutNanos, ExecutionRef<O> ref) {
        long seq = ResultRing.seqOf(ticket);
        if (ref != null) {
            synchronized (ref) {
                if (ref.claimed && !ref.done) {
                    throw new IllegalStateException("graph '" + name + "' execution " + seq + ": its outputs are being"
                            + " fetched one by one; fetch the others with output(i)");
                }
                if (ref.done) {
                    throw new IllegalStateException("graph '" + name + "' execution " + seq
                            + ": the result was already fetched or discarded; each result can be fetched once");
                }
            }
        }
        if (results.isClaimed(ticket)) {
            throw new IllegalStateException("graph '" + name + "' execution " + seq
                    + ": the result was already fetched; each result can be fetched once");
        }
        ResultRing.Slot s;
        try {
            s = results.await(ticket, ResultRing.WHOLE, timeoutNanos, callerIdleSupplier, abortCheck);
        } catch (TimeoutException e) {
            throw new ExecutionTimeoutException(timeoutMessage(seq, timeoutNanos));
        }
        if (!results.claim(ticket)) {
            throw new IllegalStateException("graph '" + name + "' execution " + seq
                    + ": the result was already fetched by another caller; each result can be fetched once");
        }
        if (ref != null) {
            ref.done = true;
        }
        return take(seq, s, ref);
    }

    @SuppressWarnings("unchecked")
    private O take(long seq, ResultRing.Slot s, ExecutionRef<O> ref) {
        if (!s.isComplete(seq)) {
            // Fast failure: an output failed while others are still on their way. Let go; the last one frees the slot.
            TaskFailure f = (TaskFailure) s.firstFailure();
            results.letGo(ResultRing.ticket(seq, s.index()));
            throw f.toException(name, seq);
        }
        TaskFailure failed = (TaskFailure) s.firstFailure();
        Object value = null;
        if (failed == null) {
            if (!multi) {
                value = NullValue.unwrap(s.value(0));
            } else {
                Object[] out = new Object[results.outputs()];
                for (int i = 0; i < out.length; i++) {
                    out[i] = NullValue.unwrap(s.value(i));
                }
                value = Arrays.asList(out);
            }
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

    Object fetchOutput(ExecutionRef<?> ref, int index, long timeoutNanos) {
        long seq = ref.sequence();
        synchronized (ref) {
            if (!ref.claimed) {
                if (ref.done || !results.claim(ref.ticket)) {
                    throw new IllegalStateException("graph '" + name + "' execution " + seq + ": the result was already"
                            + " fetched or discarded; output " + index + " is no longer available");
                }
                ref.claimed = true;
                ref.taken = new boolean[results.outputs()];
            }
            if (ref.taken[index]) {
                throw new IllegalStateException("graph '" + name + "' execution " + seq + ": output " + index
                        + " was already fetched; each output can be fetched once");
            }
            if (ref.done) {
                throw new IllegalStateException("graph '" + name + "' execution " + seq + " was discarded");
            }
            ResultRing.Slot s;
            try {
                s = results.await(ref.ticket, index, timeoutNanos, callerIdleSupplier, abortCheck);
            } catch (TimeoutException e) {
                throw new ExecutionTimeoutException(timeoutMessage(seq, timeoutNanos).replace("did not complete",
                        "output " + index + " did not arrive"));
            }
            Object v = s.value(index);
            ref.taken[index] = true;
            if (++ref.takenCount == ref.taken.length) {
                ref.done = true;
                results.letGo(ref.ticket);
            }
            if (v instanceof TaskFailure) {
                throw ((TaskFailure) v).toException(name, seq);
            }
            return NullValue.unwrap(v);
        }
    }

    boolean isOutputReady(ExecutionRef<?> ref, int index) {
        synchronized (ref) {
            if (ref.done || (ref.taken != null && ref.taken[index])) {
                return true;
            }
            return results.isOutputReady(ref.ticket, index);
        }
    }

    void letGo(ExecutionRef<?> ref, boolean cancel) {
        synchronized (ref) {
            if (ref.done) {
                return;
            }
            if (!ref.claimed) {
                if (!results.claim(ref.ticket)) {
                    ref.done = true; // fetched through its ticket by someone else
                    return;
                }
                ref.claimed = true;
            }
            if (cancel) {
                signals.cancelled();
                results.cancel(ref.ticket);
            }
            ref.done = true;
            results.letGo(ref.ticket);
        }
    }

    private void onAsyncReady(int slot, long seq) {
        options.asyncExecutor().execute(() -> completeAsync(slot, seq));
    }

    private void completeAsync(int slot, long seq) {
        if (!results.claim(ResultRing.ticket(seq, slot))) {
            return; // already completed (a failure first, then the rest of the outputs)
        }
        CompletableFuture<Object> f = asyncFutures[slot];
        try {
            f.complete(take(seq, results.slotAt(slot), null));
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        }
    }

    private String timeoutMessage(long seq, long timeoutNanos) {
        List<String> busy = busyActors();
        return "graph '" + name + "' execution " + seq + " did not complete within "
                + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms; "
                + (busy.isEmpty() ? "no actor is inside a task (all wait for upstream values)" : "busy: " + busy)
                + ". The result can still be fetched later; raise the timeout if tasks are slow";
    }

    private List<String> busyActors() {
        List<String> busy = new ArrayList<>();
        for (GraphProgram p : programs) {
            String b = p.actor().busyDescription();
            if (b != null) {
                busy.add(b);
            }
        }
        return busy;
    }

    /** Why a waiting caller must give up: the graph failed or was closed. Draining does not stop fetches. */
    private RuntimeException abortReason() {
        RuntimeException f = failure;
        if (f != null) {
            return new GraphUnavailableException(f.getMessage(), f);
        }
        if (closed) {
            return new GraphUnavailableException("graph '" + name + "' was closed before the result arrived; compile"
                    + " a new graph to continue");
        }
        return null;
    }

    private RuntimeException submitRefusal() {
        RuntimeException r = abortReason();
        if (r == null && draining) {
            r = new GraphUnavailableException("graph '" + name + "' is closing; compile a new graph to continue");
        }
        if (r != null && closed && failure == null) {
            r = new GraphUnavailableException("graph '" + name + "' was closed; compile a new graph to continue");
        }
        return r;
    }

    // ------------------------------------------------------------------------------------------ failure, teardown

    /** Fails every pending and later execution with {@code cause} and removes the graph from its live actors. */
    void fail(RuntimeException cause) {
        synchronized (this) {
            if (failure != null || closed) {
                return;
            }
            failure = cause;
            signals.stop();
        }
        LOG.error("graph '{}' failed: {}", name, cause.getMessage());
        scope.close();
        stopWatchdog();
        results.wakeAll();
        failAsync(cause);
        for (GraphProgram p : programs) {
            if (p.actor().isAlive()) {
                ActorAccess.get().uninstall(p.actor(), p);
            }
        }
        releases.forEach(Runnable::run);
        runtime.unregisterGraph(this);
    }

    private void failAsync(RuntimeException cause) {
        for (CompletableFuture<Object> f : asyncFutures) {
            if (f != null && !f.isDone()) {
                f.completeExceptionally(new GraphUnavailableException(cause.getMessage(), cause));
            }
        }
    }

    /** Kills the actor of a task that has run longer than {@link GraphOptions#taskTimeoutMillis()}. */
    private void checkTaskTimeouts() {
        long limit = TimeUnit.MILLISECONDS.toNanos(options.taskTimeoutMillis());
        for (GraphProgram p : programs) {
            ActorThread t = p.thread();
            if (t.busyOwner() != p) {
                continue;
            }
            long ran = System.nanoTime() - t.busySinceNanos();
            if (ran > limit && t.busyOwner() == p) {
                String what = t.busyDescription(p.actor().name());
                LOG.warn("graph '{}': killing actor '{}': {}", name, p.actor().name(), what);
                p.actor().kill(new TaskTimeoutException("graph '" + name + "': " + (what == null ? "a task" : what)
                        + ", exceeding taskTimeoutMillis=" + options.taskTimeoutMillis() + "; the actor was killed"
                        + " (its thread was interrupted); raise GraphOptions.taskTimeoutMillis if the task is"
                        + " just slow"));
            }
        }
    }

    private void stopWatchdog() {
        ScheduledFuture<?> w = watchdog;
        if (w != null) {
            w.cancel(false);
        }
    }

    /**
     * Tears the graph down promptly: later executes fail, and every execution not yet finished fails at once with
     * {@link GraphUnavailableException} (results already complete can still be fetched). Each actor finishes the
     * task it is running, if any, then drops the graph (waiting up to the teardown timeout); queued executions do
     * not run. The channels are freed and the actors stay alive for new graphs. Idempotent.
     *
     * @see #close(long, TimeUnit) to let pending executions finish first
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            signals.stop();
        }
        scope.close();
        stopWatchdog();
        submitLock.lock();
        try {
            List<CompletableFuture<Void>> removals = new ArrayList<>();
            for (GraphProgram p : programs) {
                removals.add(ActorAccess.get().uninstall(p.actor(), p));
            }
            try {
                CompletableFuture.allOf(removals.toArray(new CompletableFuture[0]))
                        .get(options.teardownTimeoutMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                LOG.warn("graph '{}': actors did not drop the graph within {} ms (busy: {})", name,
                        options.teardownTimeoutMillis(), busyActors());
            }
            channels.forEach(Channel::close);
            results.wakeAll();
            failAsync(new GraphUnavailableException("graph '" + name + "' was closed before the result arrived"));
        } finally {
            submitLock.unlock();
        }
        if (failure == null) {
            releases.forEach(Runnable::run);
        }
        runtime.unregisterGraph(this);
        LOG.debug("graph '{}' closed", name);
    }

    /**
     * Drains, then closes: refuses new executions at once, lets the executions already submitted finish for up to
     * {@code drainTimeout} (their results stay fetchable after the close, and async futures complete), then
     * {@link #close()}s, failing whatever is still pending.
     *
     * @return true when every submitted execution finished before the close
     */
    public boolean close(long drainTimeout, TimeUnit unit) {
        synchronized (this) {
            if (closed) {
                return false;
            }
            draining = true;
        }
        long target;
        submitLock.lock(); // a submit in progress finishes first
        try {
            target = nextSeq;
        } finally {
            submitLock.unlock();
        }
        long deadline = System.nanoTime() + unit.toNanos(drainTimeout);
        StokerIdleStrategy idle = waitPolicy.newIdleStrategy();
        boolean drained;
        while (true) {
            if (finishedAll(target)) {
                drained = true;
                break;
            }
            if (failure != null || System.nanoTime() - deadline > 0) {
                drained = false;
                break;
            }
            idle.idle();
        }
        close();
        return drained;
    }

    private boolean finishedAll(long executions) {
        for (GraphProgram p : programs) {
            if (p.progress().endedThrough() + 1 < executions) {
                return false;
            }
        }
        for (CompletableFuture<Object> f : asyncFutures) {
            if (f != null && !f.isDone()) {
                return false;
            }
        }
        return true;
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

    /** @return the number of values each execution yields (1 unless compiled with several outputs) */
    public int outputCount() {
        return results.outputs();
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

    GraphScope scope() {
        return scope;
    }

    ActorProgress progressOf(ActorHandle<?> actor) {
        return progress.get(actor.id());
    }

    /** Whether the actors should stop running this graph's tasks (it was closed or failed). */
    boolean isStopped() {
        return signals.stopped();
    }

    /** @return true once any execution was cancelled: only then need tasks check their execution's cancel mark */
    boolean anyCancelled() {
        return signals.anyCancelled();
    }

    @Override
    public String toString() {
        return "CompiledGraph[" + name + ", tasks=" + layout.tasks().size() + ", actors=" + programs.size()
                + (closed ? ", closed" : failure != null ? ", failed" : "") + "]";
    }
}
