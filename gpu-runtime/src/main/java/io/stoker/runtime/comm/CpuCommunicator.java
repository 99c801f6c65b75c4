package io.stoker.runtime.comm;

import io.stoker.runtime.actor.ActorHandle;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@link Communicator} for actors in one JVM, through shared memory.
 *
 * <p>Collectives are numbered per rank in call order; call k of every rank meets in round {@code k % depth} of a
 * small ring of rounds. Each rank deposits a reference to its buffer; the last rank to arrive checks that all calls
 * match, computes the reduction once into a shared scratch array and publishes it ({@code done}, volatile). Each
 * rank then copies its share out on its own thread (so copies run in parallel), and the last rank to depart recycles
 * the round for call {@code k + depth}. A rank more than {@code depth} calls ahead of its slowest peer waits for the
 * round to be recycled, without blocking its thread.
 *
 * <p>Thread-safety: each rank must be driven by one thread at a time; different ranks run concurrently.
 */
public final class CpuCommunicator implements Communicator {
    private static final int DEFAULT_DEPTH = 16;

    private final String name;
    private final List<ActorHandle<?>> members;
    private final Round[] rounds;
    private final int mask;
    private final long[] nextCall;
    private final long timeoutNanos;
    private volatile boolean closed;

    private CpuCommunicator(String name, List<ActorHandle<?>> members, int depth, long timeoutNanos) {
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
        int d = Integer.highestOneBit(Math.max(2, depth) - 1) << 1;
        this.rounds = new Round[d];
        this.mask = d - 1;
        for (int i = 0; i < d; i++) {
            rounds[i] = new Round(members.size(), i);
        }
        this.nextCall = new long[members.size() * 16]; // one padded counter per rank
        this.timeoutNanos = timeoutNanos;
    }

    /** Creates a communicator whose ranks are the given actors, in order. */
    public static CpuCommunicator create(String name, List<? extends ActorHandle<?>> members) {
        return new CpuCommunicator(name, List.copyOf(members), DEFAULT_DEPTH, TimeUnit.SECONDS.toNanos(60));
    }

    /** Like {@link #create(String, List)} with an explicit blocking timeout. */
    public static CpuCommunicator create(String name, List<? extends ActorHandle<?>> members, long timeout,
                                         TimeUnit unit) {
        return new CpuCommunicator(name, List.copyOf(members), DEFAULT_DEPTH, unit.toNanos(timeout));
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

    @Override
    public CollectiveHandle start(CollectiveKind kind, ReduceOp op, int rank, Object buffer) {
        return begin(kind, op, rank, buffer, false);
    }

    @Override
    public CollectiveHandle startInPlace(ReduceOp op, int rank, Object buffer) {
        return begin(CollectiveKind.ALLREDUCE, op, rank, buffer, true);
    }

    private CollectiveHandle begin(CollectiveKind kind, ReduceOp op, int rank, Object buffer, boolean inPlace) {
        if (closed) {
            throw new CollectiveException("communicator '" + name + "' is closed");
        }
        if (rank < 0 || rank >= members.size()) {
            throw new CollectiveException("communicator '" + name + "': rank " + rank + " is outside 0.."
                    + (members.size() - 1));
        }
        if (!(buffer instanceof Throwable)) {
            ArrayMath.checkSupported(buffer, "communicator '" + name + "' rank " + rank + " " + kind.label());
        }
        long call = nextCall[rank * 16]++;
        RankHandle h = new RankHandle(call, rank, kind, op, buffer, inPlace);
        h.poll();
        return h;
    }

    @Override
    public void close() {
        closed = true;
    }

    /** One meeting of all ranks. Fields follow the protocol in the class comment. */
    private static final class Round {
        private static final VarHandle ARRIVED;
        private static final VarHandle DEPARTED;

        static {
            try {
                MethodHandles.Lookup l = MethodHandles.lookup();
                ARRIVED = l.findVarHandle(Round.class, "arrived", int.class);
                DEPARTED = l.findVarHandle(Round.class, "departed", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final Object[] buffers;
        final CollectiveKind[] kinds;
        final ReduceOp[] ops;
        volatile long call;
        int arrived;
        int departed;
        volatile boolean done;
        Object scratch;

        Round(int n, long firstCall) {
            buffers = new Object[n];
            kinds = new CollectiveKind[n];
            ops = new ReduceOp[n];
            call = firstCall;
        }
    }

    private final class RankHandle implements CollectiveHandle {
        private final long call;
        private final int rank;
        private final CollectiveKind kind;
        private final ReduceOp op;
        private final Object buffer;
        private final boolean inPlace;
        private boolean deposited;
        private boolean finished;
        private Object result;

        RankHandle(long call, int rank, CollectiveKind kind, ReduceOp op, Object buffer, boolean inPlace) {
            this.call = call;
            this.rank = rank;
            this.kind = kind;
            this.op = op;
            this.buffer = buffer;
            this.inPlace = inPlace;
        }

        @Override
        public boolean poll() {
            if (finished) {
                return true;
            }
            if (closed) {
                throw new CollectiveException("communicator '" + name + "' was closed while rank " + rank
                        + " waited in call " + call);
            }
            Round r = rounds[(int) call & mask];
            if (!deposited) {
                if (r.call != call) {
                    return false; // the round still serves call - depth for a slower rank
                }
                r.buffers[rank] = buffer;
                r.kinds[rank] = kind;
                r.ops[rank] = op;
                deposited = true;
                if ((int) Round.ARRIVED.getAndAdd(r, 1) == members.size() - 1) {
                    r.scratch = compute(r);
                    r.done = true;
                }
            }
            if (!r.done) {
                return false;
            }
            result = share(r.scratch);
            finished = true;
            if ((int) Round.DEPARTED.getAndAdd(r, 1) == members.size() - 1) {
                java.util.Arrays.fill(r.buffers, null);
                r.scratch = null;
                r.arrived = 0;
                r.departed = 0;
                r.done = false;
                r.call = call + rounds.length; // volatile store: publishes the reset
            }
            return true;
        }

        private Object share(Object scratch) {
            if (scratch instanceof Throwable) {
                return scratch;
            }
            int n = members.size();
            switch (kind) {
                case REDUCESCATTER: {
                    int chunk = ArrayMath.length(scratch) / n;
                    return ArrayMath.slice(scratch, rank * chunk, chunk);
                }
                case ALLREDUCE:
                    if (inPlace) {
                        System.arraycopy(scratch, 0, buffer, 0, ArrayMath.length(scratch));
                        return buffer;
                    }
                    return ArrayMath.copy(scratch);
                default:
                    return ArrayMath.copy(scratch);
            }
        }

        /** Runs on the last rank to arrive; sees every deposit through the arrival counter's volatile RMW. */
        private Object compute(Round r) {
            Object[] parts = r.buffers;
            for (Object p : parts) {
                if (p instanceof Throwable) {
                    return p;
                }
            }
            for (int i = 1; i < parts.length; i++) {
                if (r.kinds[i] != r.kinds[0] || (r.kinds[0] != CollectiveKind.ALLGATHER && r.ops[i] != r.ops[0])
                        || parts[i].getClass() != parts[0].getClass()
                        || ArrayMath.length(parts[i]) != ArrayMath.length(parts[0])) {
                    return new CollectiveException("communicator '" + name + "' call " + call + ": rank 0 called "
                            + r.kinds[0].label() + "(" + r.ops[0] + ", " + ArrayMath.describe(parts[0]) + ") but rank " + i
                            + " called " + r.kinds[i].label() + "(" + r.ops[i] + ", " + ArrayMath.describe(parts[i])
                            + "); every rank must make the same calls in the same order");
                }
            }
            switch (r.kinds[0]) {
                case ALLGATHER:
                    return ArrayMath.concat(parts);
                case REDUCESCATTER:
                    if (ArrayMath.length(parts[0]) % parts.length != 0) {
                        return new CollectiveException("communicator '" + name + "' reducescatter: length "
                                + ArrayMath.length(parts[0]) + " is not divisible by world size " + parts.length);
                    }
                    return ArrayMath.reduce(r.ops[0], parts);
                default:
                    return ArrayMath.reduce(r.ops[0], parts);
            }
        }

        @Override
        public Object result() {
            if (!finished) {
                throw new IllegalStateException("collective call " + call + " of rank " + rank + " is not done");
            }
            return result;
        }
    }

    @Override
    public String toString() {
        return "CpuCommunicator[" + name + ", world=" + members.size() + "]";
    }
}
