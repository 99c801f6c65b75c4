package io.stoker.runtime.comm;

import io.stoker.runtime.WaitPolicy;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.channel.StokerIdleStrategy;
import io.stoker.runtime.internal.ActorProgress;
import io.stoker.runtime.internal.ActorThread;
import io.stoker.runtime.internal.GraphScope;
import io.stoker.runtime.internal.ScopedCommunicator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;

/**
 * A {@link Communicator} for actors in one JVM, through shared memory. It implements the whole ordering contract of
 * {@link Communicator}: one sequence space per compiled graph (plus one for calls made outside graphs), calls
 * matched per execution inside a graph, invalid buffers and ranks that will never arrive failing the call on every
 * rank, and circular waits between graphs' blocking calls detected.
 *
 * <p>Each call has a key in its space: its per-rank call number outside graphs; (execution, node) for a graph's
 * collective nodes; (execution, call number within the execution) for calls inside a graph's methods. The first rank
 * to reach a key creates its round; each rank deposits a reference to its buffer (or a failure) and the last one to
 * arrive checks that all calls match, computes the result once and publishes it ({@code result}, volatile). A round
 * can also be finished without every rank, with a failure, by a rank that finds every missing rank will never come.
 * Each rank then copies its share out on its own thread (so copies run in parallel), and the last one to leave
 * removes the round. Ranks waiting in a blocking call park in the wait policy's parking phase after registering in
 * the round; whoever finishes the round unparks them.
 *
 * <p>Thread-safety: each rank must be driven by one thread at a time; different ranks run concurrently.
 */
public final class CpuCommunicator implements Communicator, ScopedCommunicator {
    private static final int INDEX_BITS = 20;
    private static final long NODE_FLAG = 1L << INDEX_BITS;
    private static final int POLLS_PER_CHECK = 0x3FF;

    private final String name;
    private final List<ActorHandle<?>> members;
    private final long timeoutNanos;
    private final RoundLogic logic;
    private final Space base;
    private final ConcurrentHashMap<GraphScope, Space> scoped = new ConcurrentHashMap<>();
    /** The round each rank is blocked in (blocking calls only), for detecting circular waits between graphs. */
    private final AtomicReferenceArray<Round> blockedIn;
    private volatile boolean closed;

    private CpuCommunicator(String name, List<ActorHandle<?>> members, long timeoutNanos, RoundLogic logic) {
        if (members.isEmpty()) {
            throw new IllegalArgumentException("communicator '" + name + "' needs at least one member");
        }
        for (int i = 0; i < members.size(); i++) {
            for (int j = i + 1; j < members.size(); j++) {
                if (members.get(i).id() == members.get(j).id()) {
                    throw new IllegalArgumentException("communicator '" + name + "': actor '"
                            + members.get(i).name() + "' appears twice; each rank must be a different actor");
                }
            }
        }
        this.name = name;
        this.members = List.copyOf(members);
        this.timeoutNanos = timeoutNanos;
        this.logic = logic;
        this.base = new Space(null);
        this.blockedIn = new AtomicReferenceArray<>(members.size());
    }

    /** Creates a communicator whose ranks are the given actors, in order. */
    public static CpuCommunicator create(String name, List<? extends ActorHandle<?>> members) {
        return new CpuCommunicator(name, List.copyOf(members), TimeUnit.SECONDS.toNanos(60), new ArrayRounds(name));
    }

    /** Like {@link #create(String, List)} with an explicit blocking timeout. */
    public static CpuCommunicator create(String name, List<? extends ActorHandle<?>> members, long timeout,
                                         TimeUnit unit) {
        return new CpuCommunicator(name, List.copyOf(members), unit.toNanos(timeout), new ArrayRounds(name));
    }

    /** The same rendezvous with another logic: what the NCCL communicator builds on. */
    static CpuCommunicator withLogic(String name, List<? extends ActorHandle<?>> members, long timeoutNanos,
                                     RoundLogic logic) {
        return new CpuCommunicator(name, List.copyOf(members), timeoutNanos, logic);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<ActorHandle<?>> members() {
        return members;
    }

    @Override
    public long blockingTimeoutNanos() {
        return timeoutNanos;
    }

    // ------------------------------------------------------------------------------------------ starting calls

    @Override
    public CollectiveHandle start(CollectiveKind kind, ReduceOp op, int rank, Object buffer) {
        return begin(kind, op, rank, buffer, false);
    }

    @Override
    public CollectiveHandle startInPlace(ReduceOp op, int rank, Object buffer) {
        return begin(CollectiveKind.ALLREDUCE, op, rank, buffer, true);
    }

    @Override
    public CollectiveHandle startScoped(GraphScope scope, long execution, int key, CollectiveKind kind, ReduceOp op,
                                        int rank, Object buffer) {
        checkCall(rank);
        Space sp = space(scope);
        return join(sp, (execution << (INDEX_BITS + 1)) | NODE_FLAG | key, execution, key, true, kind, op, rank,
                validated(buffer, rank, kind), false);
    }

    private CollectiveHandle begin(CollectiveKind kind, ReduceOp op, int rank, Object buffer, boolean inPlace) {
        checkCall(rank);
        Object deposit = validated(buffer, rank, kind);
        ActorThread t = ActorThread.current();
        GraphScope scope = t == null ? null : t.scope();
        if (scope == null) {
            long call = base.nextCall(rank);
            return join(base, call, -1, call, false, kind, op, rank, deposit, inPlace);
        }
        // Inside a graph task: the call belongs to the running execution of that graph.
        Space sp = space(scope);
        ActorProgress mine = sp.progress[rank];
        if (mine != t.progress()) {
            throw new CollectiveException("communicator '" + name + "': rank " + rank + " is actor '"
                    + members.get(rank).name() + "', but this call runs in a task of another actor of "
                    + sp.label + "; pass the caller's own rank");
        }
        long e = mine.current();
        int index = sp.nextIndex(rank, e);
        if (mine.failedExecution() == e) {
            return new FailedCall(new CollectiveException("communicator '" + name + "' rank " + rank + ": "
                    + describe(sp, e, index, false)
                    + " (" + kind.label() + ") is skipped because an earlier task of this rank failed in execution "
                    + e + ": " + mine.failure(), mine.failure()));
        }
        if (index >= NODE_FLAG) {
            throw new CollectiveException("communicator '" + name + "' rank " + rank + ": more than " + NODE_FLAG
                    + " collective calls in one execution of " + sp.label);
        }
        return join(sp, (e << (INDEX_BITS + 1)) | index, e, index, false, kind, op, rank, deposit, inPlace);
    }

    /** Names a call for messages (built only when one is needed). */
    private static String describe(Space sp, long execution, long index, boolean node) {
        if (sp.scope == null) {
            return "call " + index;
        }
        return sp.label + " execution " + execution + (node ? " node " : " call #") + index;
    }

    private void checkCall(int rank) {
        if (closed) {
            throw new CollectiveException("communicator '" + name + "' is closed");
        }
        if (rank < 0 || rank >= members.size()) {
            throw new CollectiveException("communicator '" + name + "': rank " + rank + " is outside 0.."
                    + (members.size() - 1));
        }
        ActorHandle<?> a = members.get(rank);
        if (!a.isAlive()) {
            throw new CollectiveException("communicator '" + name + "': rank " + rank + " (actor '" + a.name()
                    + "') is dead (" + a.deathCause() + ")");
        }
    }

    /** @return the buffer, or a failure naming the rank when it is not one collectives accept */
    private Object validated(Object buffer, int rank, CollectiveKind kind) {
        // an invalid call still takes its place in the round, so every rank fails this call and stays in step
        return logic.validate(buffer, rank, kind);
    }

    private Space space(GraphScope scope) {
        Space sp = scoped.get(scope);
        if (sp == null) {
            Space fresh = new Space(scope);
            sp = scoped.putIfAbsent(scope, fresh);
            if (sp == null) {
                sp = fresh;
                scope.onClose(() -> {
                    scoped.remove(scope, fresh);
                    fresh.close(scope + " was closed");
                });
            }
        }
        if (sp.closed) {
            throw new CollectiveException("communicator '" + name + "': " + sp.label + " was closed");
        }
        return sp;
    }

    private RankCall join(Space sp, long key, long execution, long index, boolean node, CollectiveKind kind,
                          ReduceOp op, int rank, Object deposit, boolean inPlace) {
        Round r = sp.rounds.get(key);
        if (r == null) {
            Round fresh = new Round(sp, key, execution, index, node);
            r = sp.rounds.putIfAbsent(key, fresh);
            if (r == null) {
                r = fresh;
            }
        }
        RankCall call = new RankCall(r, rank, kind, deposit, inPlace);
        r.deposit(rank, deposit, kind, op);
        return call;
    }

    // ------------------------------------------------------------------------------------------ blocking calls

    @Override
    public Object allreduce(int rank, Object buffer, ReduceOp op) {
        return block(start(CollectiveKind.ALLREDUCE, op, rank, buffer), rank);
    }

    @Override
    public void allreduceInPlace(int rank, Object buffer, ReduceOp op) {
        block(startInPlace(op, rank, buffer), rank);
    }

    @Override
    public Object allgather(int rank, Object buffer) {
        return block(start(CollectiveKind.ALLGATHER, ReduceOp.SUM, rank, buffer), rank);
    }

    @Override
    public Object reducescatter(int rank, Object buffer, ReduceOp op) {
        return block(start(CollectiveKind.REDUCESCATTER, op, rank, buffer), rank);
    }

    @Override
    public Object await(CollectiveHandle h, int rank) {
        return block(h, rank);
    }

    /** Waits for {@code handle} as a blocking call does (timeout, circular waits detected), without throwing. */
    void waitQuietly(CollectiveHandle handle, int rank) {
        if (handle instanceof RankCall) {
            waitFor((RankCall) handle, rank);
        }
    }

    private Object block(CollectiveHandle handle, int rank) {
        if (handle instanceof RankCall) {
            waitFor((RankCall) handle, rank);
        }
        Object r = handle.result();
        if (r instanceof Throwable) {
            Throwable t = (Throwable) r;
            throw new CollectiveException(t instanceof CollectiveException ? t.getMessage()
                    : "communicator '" + name + "' rank " + rank + ": a rank contributed a failure: " + t, t);
        }
        return r;
    }

    private void waitFor(RankCall call, int rank) {
        Round round = call.round;
        if (call.poll()) {
            return;
        }
        ActorThread t = ActorThread.current();
        StokerIdleStrategy idle = (t != null ? t.waitPolicy() : WaitPolicy.defaults()).newIdleStrategy();
        long deadline = System.nanoTime() + timeoutNanos;
        Thread me = Thread.currentThread();
        blockedIn.set(rank, round);
        try {
            int polls = 0;
            while (!call.poll()) {
                logic.whileWaiting(rank);
                boolean park = idle.idleUnlessParking();
                if (!park && (++polls & POLLS_PER_CHECK) != 0) {
                    continue;
                }
                if (me.isInterrupted()) {
                    round.finish(new CollectiveException("communicator '" + name + "' rank " + rank + ": interrupted"
                            + " while waiting in " + round.what() + " (was its actor killed?)"));
                    continue;
                }
                checkCircularWait(round, rank);
                if (System.nanoTime() - deadline > 0) {
                    round.finish(new CollectiveException("communicator '" + name + "' rank " + rank + ": peers did not"
                            + " arrive within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms at "
                            + round.what() + " (missing: " + round.missing() + "); every rank must call the same"
                            + " collectives in the same order"));
                    continue;
                }
                if (park) {
                    round.waiters.set(rank, me);
                    if (round.result == null) {
                        idle.park(round, deadline - System.nanoTime());
                    }
                    round.waiters.set(rank, null);
                }
            }
        } finally {
            blockedIn.set(rank, null);
        }
    }

    /**
     * Fails {@code mine} if a missing rank is blocked in another graph's call that waits for this rank: both actors'
     * threads are held, so neither call could ever complete. Of the two calls, the one of the later-compiled graph
     * fails (the other rank, checking the same pair, leaves its own call alone).
     */
    private void checkCircularWait(Round mine, int rank) {
        if (mine.space.scope == null || mine.result != null) {
            return;
        }
        for (int p = 0; p < members.size(); p++) {
            if (p == rank || mine.hasArrived(p)) {
                continue;
            }
            Round other = blockedIn.get(p);
            if (other == null || other.space == mine.space || other.result != null || other.hasArrived(rank)
                    || other.abstention(rank) != null) {
                continue;
            }
            if (mine.space.order > other.space.order) {
                mine.finish(new CollectiveException("communicator '" + name + "': " + mine.what() + " and "
                        + other.what() + " wait for each other: rank " + rank + " is blocked in the first, waiting for"
                        + " rank " + p + ", which is blocked in the second, waiting for rank " + rank + ". Blocking"
                        + " collectives inside methods of graphs that share actors must be entered in the same order"
                        + " on every rank: let one graph's execution finish before starting the other's on these"
                        + " actors, or use collective nodes (GraphBuilder.allreduce ...), which do not hold the"
                        + " actor's thread. Failed the call of " + mine.space.label));
                return;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        base.close("communicator '" + name + "' was closed");
        for (Space sp : scoped.values()) {
            sp.close("communicator '" + name + "' was closed");
        }
    }

    // ------------------------------------------------------------------------------------------ spaces and rounds

    /** One sequence space: the calls made outside graphs, or the calls of one compiled graph. */
    private final class Space {
        final GraphScope scope;
        final String label;
        final long order;
        final ActorProgress[] progress;
        final ConcurrentHashMap<Long, Round> rounds = new ConcurrentHashMap<>();
        final long[] next;       // outside graphs: per-rank call number (padded); each rank's own thread only
        final long[] callExec;   // in graph methods: the execution each rank's call numbers count for
        final int[] callIndex;   // ... and the next call number within it
        volatile boolean closed;

        Space(GraphScope scope) {
            this.scope = scope;
            int n = members.size();
            this.label = scope == null ? "calls outside graphs" : scope.toString();
            this.order = scope == null ? Long.MAX_VALUE : scope.id();
            this.progress = new ActorProgress[n];
            if (scope != null) {
                for (int r = 0; r < n; r++) {
                    progress[r] = scope.progressOf(members.get(r).id());
                }
            }
            this.next = new long[n * 16];
            this.callExec = new long[n * 16];
            this.callIndex = new int[n * 16];
            java.util.Arrays.fill(callExec, -1);
        }

        long nextCall(int rank) {
            return next[rank * 16]++;
        }

        int nextIndex(int rank, long execution) {
            int i = rank * 16;
            if (callExec[i] != execution) {
                callExec[i] = execution;
                callIndex[i] = 0;
            }
            return callIndex[i]++;
        }

        void close(String why) {
            closed = true;
            for (Round r : rounds.values()) {
                r.finish(new CollectiveException("communicator '" + name + "': " + why + " while " + r.what()
                        + " waited for peers"));
            }
        }
    }

    /** One meeting of all ranks at one key. Fields follow the protocol in the class comment. */
    private final class Round {
        private static final int ARRIVED = 1;

        final Space space;
        final long key;
        final long execution;
        final long index;
        final boolean node;
        final Object[] buffers;
        final CollectiveKind[] kinds;
        final ReduceOp[] ops;
        final int[] arrived;               // per rank, accessed through ARRIVALS (volatile)
        final AtomicReferenceArray<Thread> waiters;
        final java.util.concurrent.atomic.AtomicInteger count = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.atomic.AtomicInteger departed = new java.util.concurrent.atomic.AtomicInteger();
        volatile Object result;            // null until done: the reduced array, or a Throwable

        Round(Space space, long key, long execution, long index, boolean node) {
            int n = members.size();
            this.space = space;
            this.key = key;
            this.execution = execution;
            this.index = index;
            this.node = node;
            this.buffers = new Object[n];
            this.kinds = new CollectiveKind[n];
            this.ops = new ReduceOp[n];
            this.arrived = new int[n];
            this.waiters = new AtomicReferenceArray<>(n);
        }

        /** @return this call's name for messages */
        String what() {
            return describe(space, execution, index, node);
        }

        void deposit(int rank, Object buffer, CollectiveKind kind, ReduceOp op) {
            buffers[rank] = buffer;
            kinds[rank] = kind;
            ops[rank] = op;
            ARRIVALS.setVolatile(arrived, rank, ARRIVED);
            if (count.incrementAndGet() == members.size()) {
                finish(compute()); // the count's RMW made every deposit visible
            }
        }

        boolean hasArrived(int rank) {
            return (int) ARRIVALS.getVolatile(arrived, rank) == ARRIVED;
        }

        /** Publishes the result once (first caller wins) and wakes the ranks parked in blocking calls. */
        void finish(Object value) {
            if (RESULT.compareAndSet(this, null, value)) {
                for (int i = 0; i < waiters.length(); i++) {
                    Thread w = waiters.get(i);
                    if (w != null) {
                        LockSupport.unpark(w);
                    }
                }
            }
        }

        /**
         * Finishes the round with a failure when every rank that has not arrived never will.
         *
         * @return true when the round is finished
         */
        boolean resolveAbsentees() {
            if (result != null) {
                return true;
            }
            if (space.closed) {
                finish(new CollectiveException("communicator '" + name + "': " + space.label + " was closed while "
                        + what() + " waited for peers"));
                return true;
            }
            StringBuilder why = null;
            for (int p = 0; p < members.size(); p++) {
                if (hasArrived(p)) {
                    continue;
                }
                String reason = abstention(p); // read before re-checking arrival: a rank's deposit comes first
                if (reason == null || hasArrived(p)) {
                    if (reason == null) {
                        return false;
                    }
                    continue;
                }
                why = why == null ? new StringBuilder() : why.append("; ");
                why.append(reason);
            }
            if (why == null) {
                return result != null;
            }
            finish(new CollectiveException("communicator '" + name + "': " + what() + " cannot complete: " + why));
            return true;
        }

        /** @return why rank {@code p} will never arrive here, or null when it still may */
        String abstention(int p) {
            ActorHandle<?> a = members.get(p);
            if (!a.isAlive()) {
                return "rank " + p + " (actor '" + a.name() + "') is dead (" + a.deathCause() + ")";
            }
            if (space.scope == null || node) {
                return null;
            }
            ActorProgress pr = space.progress[p];
            if (pr == null) {
                return "rank " + p + " (actor '" + a.name() + "') has no task in " + space.label;
            }
            if (pr.failedExecution() == execution) {
                return "rank " + p + " (actor '" + a.name() + "') skips it: its task failed in execution "
                        + execution + ": " + pr.failure();
            }
            if (pr.endedThrough() >= execution) {
                return "rank " + p + " (actor '" + a.name() + "') finished execution " + execution
                        + " without making this call";
            }
            return null;
        }

        String missing() {
            List<String> out = new ArrayList<>();
            for (int p = 0; p < members.size(); p++) {
                if (!hasArrived(p)) {
                    String busy = members.get(p).busyDescription();
                    out.add("rank " + p + " (actor '" + members.get(p).name() + "'"
                            + (busy == null ? "" : ", " + busy) + ")");
                }
            }
            return String.join(", ", out);
        }

        void depart() {
            if (departed.incrementAndGet() == count.get()) {
                space.rounds.remove(key, this);
            }
        }

        /** Runs on the last rank to arrive; sees every deposit through the arrival counter's volatile RMW. */
        Object compute() {
            for (Object p : buffers) {
                if (p instanceof Throwable) {
                    return p;
                }
            }
            try {
                return logic.combine(this::what, buffers, kinds, ops);
            } catch (RuntimeException e) {
                return e;
            }
        }
    }

    private static final VarHandle RESULT;
    private static final VarHandle ARRIVALS = MethodHandles.arrayElementVarHandle(int[].class);

    static {
        try {
            RESULT = MethodHandles.lookup().findVarHandle(Round.class, "result", Object.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** One rank's part in one round. */
    private final class RankCall implements CollectiveHandle {
        private final Round round;
        private final int rank;
        private final CollectiveKind kind;
        private final Object buffer;
        private final boolean inPlace;
        private boolean finished;
        private Object result;

        RankCall(Round round, int rank, CollectiveKind kind, Object buffer, boolean inPlace) {
            this.round = round;
            this.rank = rank;
            this.kind = kind;
            this.buffer = buffer;
            this.inPlace = inPlace;
        }

        @Override
        public boolean poll() {
            if (finished) {
                return true;
            }
            if (round.result == null) {
                if (closed) {
                    round.finish(new CollectiveException("communicator '" + name + "' was closed while rank " + rank
                            + " waited in " + round.what()));
                } else if (!round.resolveAbsentees()) {
                    return false;
                }
            }
            result = share(round.result);
            finished = true;
            round.depart();
            return true;
        }

        private Object share(Object scratch) {
            if (scratch instanceof Throwable) {
                return scratch;
            }
            return logic.share(scratch, rank, members.size(), kind, buffer, inPlace);
        }

        @Override
        public Object result() {
            if (!finished) {
                throw new IllegalStateException(round.what() + " of rank " + rank + " is not done");
            }
            return result;
        }
    }

    /** A call that failed before joining a round (its rank skips the execution's collectives). */
    private static final class FailedCall implements CollectiveHandle {
        private final Throwable failure;

        FailedCall(Throwable failure) {
            this.failure = failure;
        }

        @Override
        public boolean poll() {
            return true;
        }

        @Override
        public Object result() {
            return failure;
        }
    }

    @Override
    public String toString() {
        return "CpuCommunicator[" + name + ", world=" + members.size() + "]";
    }
}
