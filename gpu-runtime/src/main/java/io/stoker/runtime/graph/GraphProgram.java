package io.stoker.runtime.graph;

import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.comm.CollectiveHandle;
import io.stoker.runtime.internal.ActorAccess;
import io.stoker.runtime.internal.ActorProgram;
import io.stoker.runtime.internal.ActorProgress;
import io.stoker.runtime.internal.ActorThread;
import io.stoker.runtime.internal.GraphScope;
import io.stoker.runtime.internal.ResultRing;
import io.stoker.runtime.internal.ScopedCommunicator;

import java.util.concurrent.CancellationException;

/**
 * One actor's schedule for one compiled graph, driven by the actor's thread: the graph's tasks on this actor in
 * bind order, repeated once per execution. {@link #doWork} never blocks; it runs ops until one waits for input (or
 * for collective peers) and returns, so other graphs on the same actor make progress too. It stops at the next op
 * once the graph is closed or failed, and drops the result of a task that ran while its actor was killed.
 *
 * <p>Per execution and op it performs no allocation besides what the user's method allocates. The cursor it advances
 * per task ({@code pc}, {@code seq}) is padded off the neighbouring actors' programs, which are created in the same
 * loop ({@link io.stoker.runtime.internal.CacheLines}).
 */
final class GraphProgram extends GraphProgramCursorPad implements ActorProgram {
    private static final int MAX_OPS_PER_PASS = 64;

    private final CompiledGraph<?, ?> graph;
    private final ActorHandle<?> actor;
    private final ActorThread thread;
    private final GraphScope scope;
    private final ActorProgress progress;
    final TaskOp[] ops;
    private final ResultRing results;
    private final boolean timings;
    /** Whether tasks read the clock when they start: for timings, and for the task-timeout watchdog. */
    private final boolean clocked;
    /** The sending ends of cross-process edges on this actor (usually none): handed over on every pass. */
    private final RemoteSender[] senders;
    private final long[] traceSeq;
    private final long[] traceStart;
    private final long[] traceEnd;
    private final int traceMask;

    GraphProgram(CompiledGraph<?, ?> graph, ActorHandle<?> actor, TaskOp[] ops, ResultRing results, boolean timings,
                 int traceCapacity) {
        this.graph = graph;
        this.actor = actor;
        this.thread = ActorAccess.get().thread(actor);
        this.scope = graph.scope();
        this.progress = graph.progressOf(actor);
        this.ops = ops;
        this.results = results;
        this.timings = timings;
        this.clocked = timings || graph.options().taskTimeoutMillis() > 0;
        this.senders = java.util.Arrays.stream(ops).filter(o -> o.remoteEnd instanceof RemoteSender)
                .map(o -> (RemoteSender) o.remoteEnd).toArray(RemoteSender[]::new);
        int cap = Integer.highestOneBit(Math.max(1, traceCapacity) * 2 - 1);
        this.traceMask = cap - 1;
        int n = timings ? cap * ops.length : 0;
        this.traceSeq = new long[n];
        java.util.Arrays.fill(traceSeq, -1);
        this.traceStart = new long[n];
        this.traceEnd = new long[n];
    }

    ActorHandle<?> actor() {
        return actor;
    }

    ActorThread thread() {
        return thread;
    }

    ActorProgress progress() {
        return progress;
    }

    @Override
    public String name() {
        return graph.name() + "@" + actor.name();
    }

    @Override
    public boolean hasPendingInput() {
        return ops[pc].hasPendingInput() || (senders.length != 0 && sendsPending());
    }

    private boolean sendsPending() {
        for (RemoteSender s : senders) {
            if (s.hasPending()) {
                return true;
            }
        }
        return false;
    }

    private int progressSends() {
        int n = 0;
        for (RemoteSender s : senders) {
            n += s.progress();
        }
        return n;
    }

    /**
     * Releases this actor's ends of the graph's GPU channels (device memory they still hold) and of its cross-process
     * edges, on its thread.
     */
    @Override
    public void onRemoved() {
        for (TaskOp op : ops) {
            if (op.remoteEnd != null) {
                op.remoteEnd.release();
            }
            for (Object r : op.sources) {
                if (r instanceof io.stoker.runtime.channel.DeviceChannel) {
                    ((io.stoker.runtime.channel.DeviceChannel) r).releaseReaderEnd();
                }
            }
            for (Object w : op.outputs) {
                if (w instanceof io.stoker.runtime.channel.DeviceChannel) {
                    ((io.stoker.runtime.channel.DeviceChannel) w).releaseWriterEnd();
                }
            }
        }
    }

    @Override
    public void onActorDeath(Throwable cause) {
        graph.fail(new GraphUnavailableException("graph '" + graph.name() + "' cannot run: " + cause.getMessage()
                + "; close the graph and compile a new one on live actors", cause));
    }

    @Override
    public int doWork(Object instance) {
        int work = senders.length == 0 ? 0 : progressSends();
        while (work < MAX_OPS_PER_PASS) {
            if (graph.isStopped()) {
                return work; // closed or failed: queued executions do not run
            }
            TaskOp op = ops[pc];
            if (!op.readInputs(seq)) {
                return work;
            }
            if (pc == 0) {
                progress.begin(seq);
            }
            Object result;
            if (op.collective != null) {
                result = collective(op);
                if (result == null) {
                    return work; // peers have not arrived yet
                }
            } else {
                result = compute(op, instance);
            }
            if (!actor.isAlive()) {
                return work; // killed while the task ran: its late result is dropped
            }
            long end = timings ? System.nanoTime() : 0L;
            if (timings) {
                record(op, end);
            }
            deliver(op, result, end);
            op.reset();
            work++;
            if (++pc == ops.length) {
                progress.ended(seq);
                pc = 0;
                seq++;
            }
        }
        return work;
    }

    /**
     * Runs the task, or skips it (an upstream failure, an argument that cannot be bound, a cancelled execution). Kept
     * small, with the rare paths in their own methods, so the JIT inlines it into {@link #doWork}.
     */
    private Object compute(TaskOp op, Object instance) {
        TaskFailure skipped = op.upstreamFailure();
        if (skipped == null) {
            skipped = op.bindArgs(seq);
            if (skipped == null && isCancelled()) {
                skipped = cancelled(op);
            }
        }
        if (skipped != null) {
            return skip(op, skipped);
        }
        long start = clocked ? System.nanoTime() : 0L; // a clock read per task is a measurable share of a hop
        op.startNanos = start;
        if (timings) {
            results.markStart(seq, start);
        }
        thread.markBusy(this, op.label, start);
        thread.enterTask(scope, progress);
        try {
            return NullValue.wrap(op.invoker.invoke(instance, op.args));
        } catch (VirtualMachineError e) {
            throw e; // the actor's state can no longer be trusted: the actor dies and the graph fails fast
        } catch (Throwable t) {
            return failed(op, t);
        } finally {
            thread.exitTask();
            thread.markIdle();
        }
    }

    private TaskFailure skip(TaskOp op, TaskFailure why) {
        op.startNanos = timings ? System.nanoTime() : 0L;
        progress.failed(seq, why);
        return why;
    }

    private TaskFailure failed(TaskOp op, Throwable t) {
        TaskFailure f = new TaskFailure(op.actorName, op.methodName, op.label, seq, t);
        progress.failed(seq, f);
        return f;
    }

    private boolean isCancelled() {
        return graph.anyCancelled() && results.isCancelled(seq);
    }

    private TaskFailure cancelled(TaskOp op) {
        return new TaskFailure(op.actorName, op.methodName, op.label, seq,
                new CancellationException("execution " + seq + " was cancelled before this task started"));
    }

    /** @return the rank's result, or null while peers are still arriving */
    private Object collective(TaskOp op) {
        try {
            CollectiveHandle h = op.pending;
            if (h == null) {
                // Every rank always takes part, contributing its failure if it has no valid input, so the group
                // stays in step and the failure reaches every rank.
                Object in = op.upstreamFailure();
                if (in == null) {
                    TaskFailure argError = op.bindArgs(seq);
                    in = argError != null ? argError : isCancelled() ? cancelled(op) : op.args[0];
                }
                op.startNanos = timings ? System.nanoTime() : 0L;
                if (timings) {
                    results.markStart(seq, op.startNanos);
                }
                CollectiveGroup g = op.collective;
                h = g.communicator instanceof ScopedCommunicator
                        ? ((ScopedCommunicator) g.communicator).startScoped(scope, seq, g.id, g.kind, g.op, op.rank, in)
                        : g.communicator.start(g.kind, g.op, op.rank, in);
                op.pending = h;
            }
            if (!h.poll()) {
                return null;
            }
            op.pending = null;
            Object r = h.result();
            if (r instanceof TaskFailure) {
                return r;
            }
            if (r instanceof Throwable) {
                return new TaskFailure(op.actorName, op.methodName, op.label, seq, (Throwable) r);
            }
            return r;
        } catch (RuntimeException e) {
            op.pending = null;
            return new TaskFailure(op.actorName, op.methodName, op.label, seq, e);
        }
    }

    private void deliver(TaskOp op, Object result, long now) {
        for (int i = 0; i < op.outputs.length; i++) {
            if (!offer(op, i, result)) {
                return;
            }
        }
        for (int i = 0; i < op.resultIndex.length; i++) {
            Object v = result;
            Projection p = op.resultProjection[i];
            if (p != null && !(v instanceof TaskFailure)) {
                v = project(op, i, p, v);
            }
            results.complete(seq, op.resultIndex[i], v, v instanceof TaskFailure, now);
        }
    }

    /** @return false when the channel refused the value and the graph was torn down */
    private boolean offer(TaskOp op, int i, Object result) {
        boolean accepted;
        try {
            accepted = op.outputs[i].offer(result);
        } catch (RuntimeException e) {
            // a GPU channel refused the value (not on the writer's device, say): the reader gets the failure
            accepted = op.outputs[i].offer(new TaskFailure(op.actorName, op.methodName, op.label, seq,
                    new IllegalStateException("writing " + op.outputLabels[i] + ": " + e.getMessage(), e)));
        }
        if (!accepted) {
            // Cannot happen while channel capacity >= maxInFlight; fail loudly rather than hang.
            graph.fail(new GraphUnavailableException("graph '" + graph.name() + "': channel " + op.outputLabels[i]
                    + " refused a value (closed or full); the graph was torn down"));
        }
        return accepted;
    }

    private Object project(TaskOp op, int i, Projection p, Object v) {
        try {
            return NullValue.wrap(p.apply(NullValue.unwrap(v)));
        } catch (RuntimeException e) {
            return new TaskFailure(op.actorName, op.methodName, op.label, seq,
                    new IllegalArgumentException("output " + op.resultIndex[i] + " (" + op.label
                            + p.describe() + "): " + e.getMessage(), e));
        }
    }

    private void record(TaskOp op, long end) {
        long start = op.startNanos;
        results.addCompute(seq, end - start);
        int i = ((int) seq & traceMask) * ops.length + pc; // the op being recorded is always ops[pc]
        traceStart[i] = start;
        traceEnd[i] = end;
        traceSeq[i] = seq;
    }

    /** Visits recorded task spans: (op, seq, start, end). Reads racily; spans of executions in flight may be partial. */
    void forEachSpan(SpanVisitor v) {
        if (traceSeq.length == 0) {
            return;
        }
        for (int slot = 0; slot <= traceMask; slot++) {
            for (int o = 0; o < ops.length; o++) {
                int i = slot * ops.length + o;
                long s = traceSeq[i];
                if (s >= 0) {
                    v.visit(ops[o], s, traceStart[i], traceEnd[i]);
                }
            }
        }
    }

    @FunctionalInterface
    interface SpanVisitor {
        void visit(TaskOp op, long seq, long startNanos, long endNanos);
    }
}

/** Padding before {@link GraphProgramCursor}. */
abstract class GraphProgramPad {
    @SuppressWarnings("unused")
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
}

/** Where a {@link GraphProgram} is: the op it runs next and the execution it runs. */
abstract class GraphProgramCursor extends GraphProgramPad {
    int pc;
    long seq;
}

/** Padding after {@link GraphProgramCursor}. */
abstract class GraphProgramCursorPad extends GraphProgramCursor {
    @SuppressWarnings("unused")
    long q00, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11, q12, q13, q14, q15;
}
