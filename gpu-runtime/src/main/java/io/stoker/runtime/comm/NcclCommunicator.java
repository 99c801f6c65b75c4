package io.stoker.runtime.comm;

import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaEvent;
import io.stoker.runtime.cuda.CudaStream;
import io.stoker.runtime.cuda.DeviceArray;
import io.stoker.runtime.cuda.Nccl;
import io.stoker.runtime.cuda.NcclComm;
import io.stoker.runtime.internal.GraphScope;
import io.stoker.runtime.internal.ScopedCommunicator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

/**
 * A {@link Communicator} over NCCL for GPU actors of one JVM, with the same matching guarantees as
 * {@link CpuCommunicator}: calls are matched per graph and per execution, an invalid buffer or a failed rank fails
 * that call on every rank and leaves the group in step, ranks that will never arrive fail the call at once, and
 * circular waits between graphs' blocking calls are detected. Buffers are {@link DeviceArray}s on the rank's device.
 *
 * <p><b>How.</b> Every call first meets the other ranks' calls on the host, in {@link CpuCommunicator}'s rendezvous
 * (only descriptors cross: kind, reduction, type, count). When the last rank arrives and the calls match, the round
 * gets the next ticket of a single order for the whole communicator, and each rank's call is queued for its rank in
 * that order. Each rank issues its queue in order on its own thread, so every rank issues the same NCCL operations
 * in the same order whatever order the graphs sharing the communicator reach the ranks in; a mismatch or a failed
 * input never reaches NCCL, so nothing hangs on the device. Point-to-point transfers ({@link NcclChannel}) take
 * tickets from the same order.
 *
 * <p><b>Streams.</b> Each rank has its own communication stream. A call records an event on the device's main
 * stream when it starts (its input is ready there); the communication stream waits for that event, runs the NCCL
 * operation and records a second event, and the main stream waits for that one before the result is used. A call
 * completes as soon as it is issued: the host does not wait for the device, and compute the rank queues meanwhile on
 * its main stream (another graph's task, for example) overlaps the transfer.
 *
 * <p><b>Results.</b> {@code allreduceInPlace} writes into the caller's array; the other calls return a new
 * {@link DeviceArray} from the rank's device pool that the caller owns (and closes). Results are ready in stream
 * order on the device's main stream ({@code device.stream()}), like every kernel: synchronise it before reading
 * them on the host.
 *
 * <p><b>Lifecycle.</b> Create the communicator with its member actors, then let every member call
 * {@link #join(int, CudaDevice)} on its own thread (they block until all have joined: NCCL's
 * {@code ncclCommInitRank}); NCCL ids are exchanged through {@link NcclIdExchange#inProcess()}. Before an actor
 * closes its device, it calls {@link #leave(int)}. {@link #close()} fails calls still waiting for peers.
 *
 * <p>Thread-safety: each rank is driven by the thread that joined it (its device's owner thread); ranks run
 * concurrently.
 */
public final class NcclCommunicator implements Communicator, ScopedCommunicator {
    private static final Logger LOG = LoggerFactory.getLogger(NcclCommunicator.class);
    private static final AtomicLong GROUPS = new AtomicLong();
    /** What a matched round returns to every rank: its calls are queued for their ranks. */
    private static final Object SEQUENCED = new Object() {
        @Override
        public String toString() {
            return "sequenced";
        }
    };

    private final String name;
    private final String group;
    private final CpuCommunicator control;
    private final long timeoutNanos;
    private final NcclIdExchange ids;
    private final AtomicReferenceArray<NcclRank> ranks;
    private final Object sequencer = new Object();
    private long nextTicket; // guarded by sequencer
    private volatile boolean closed;

    private NcclCommunicator(String name, List<? extends ActorHandle<?>> members, long timeoutNanos,
                             NcclIdExchange ids) {
        this.name = name;
        this.group = name + "#" + GROUPS.incrementAndGet() + "@" + ProcessHandle.current().pid();
        this.timeoutNanos = timeoutNanos;
        this.ids = ids;
        this.control = CpuCommunicator.withLogic(name, members, timeoutNanos, new Rounds());
        this.ranks = new AtomicReferenceArray<>(members.size());
    }

    /** A communicator whose ranks are {@code members}, in order; each must {@link #join} before calling. */
    public static NcclCommunicator create(String name, List<? extends ActorHandle<?>> members) {
        return new NcclCommunicator(name, members, TimeUnit.SECONDS.toNanos(60), NcclIdExchange.inProcess());
    }

    /** Like {@link #create(String, List)} with a timeout for blocking calls and for joining. */
    public static NcclCommunicator create(String name, List<? extends ActorHandle<?>> members, long timeout,
                                          TimeUnit unit) {
        return new NcclCommunicator(name, members, unit.toNanos(timeout), NcclIdExchange.inProcess());
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<ActorHandle<?>> members() {
        return control.members();
    }

    @Override
    public long blockingTimeoutNanos() {
        return timeoutNanos;
    }

    /** Collective nodes reuse (allreduce) or free their input's device memory. */
    @Override
    public boolean consumesNodeInputs() {
        return true;
    }

    // ------------------------------------------------------------------------------------------ membership

    /**
     * Joins rank {@code rank} with {@code device}, on the device's owner thread (the member actor's thread). Blocks
     * until every rank has joined.
     *
     * @throws IllegalStateException when called on another thread, or twice for a rank
     */
    public void join(int rank, CudaDevice device) {
        device.checkThread();
        checkRank(rank);
        if (ranks.get(rank) != null) {
            throw new IllegalStateException("communicator '" + name + "': rank " + rank + " has already joined");
        }
        long timeoutMillis = TimeUnit.NANOSECONDS.toMillis(timeoutNanos);
        byte[] id = ids.exchange(group, rank, worldSize(), Nccl::uniqueId, timeoutMillis);
        NcclComm comm = Nccl.initRank(device, worldSize(), id, rank);
        CudaStream stream;
        try {
            stream = device.newStream();
        } catch (RuntimeException e) {
            comm.close();
            throw e;
        }
        ranks.set(rank, new NcclRank(rank, device, comm, stream));
        LOG.debug("communicator '{}': rank {} joined on CUDA device {}", name, rank, device.ordinal());
    }

    /**
     * Issues what this rank has left, waits for its communication and destroys its NCCL communicator; on the rank's
     * thread, after the graphs using the communicator are closed. Idempotent.
     */
    public void leave(int rank) {
        checkRank(rank);
        NcclRank r = ranks.get(rank);
        if (r == null) {
            return;
        }
        r.device.checkThread();
        ranks.set(rank, null);
        r.leave();
    }

    /** @return true once rank {@code rank} has joined (and not left) */
    public boolean hasJoined(int rank) {
        return ranks.get(rank) != null;
    }

    /** The joined rank's state for {@link NcclChannel} {@code channel}; the message parts are joined only on failure. */
    NcclRank rankState(int rank, String doing, String channel) {
        checkRank(rank);
        NcclRank r = ranks.get(rank);
        if (r == null) {
            throw new CollectiveException("communicator '" + name + "': rank " + rank + " (actor '"
                    + members().get(rank).name() + "') has not joined; call join(rank, device) on its thread first ("
                    + doing + " channel " + channel + ")");
        }
        return r;
    }

    private void checkRank(int rank) {
        if (rank < 0 || rank >= worldSize()) {
            throw new CollectiveException("communicator '" + name + "': rank " + rank + " is outside 0.."
                    + (worldSize() - 1));
        }
    }

    // ------------------------------------------------------------------------------------------ ordering

    /** Gives {@code ops} the next ticket and queues each for its rank, atomically with respect to other tickets. */
    void sequence(NcclOp a, int rankA, NcclOp b, int rankB) {
        synchronized (sequencer) {
            long t = nextTicket++;
            a.ticket = t;
            b.ticket = t;
            queueFor(rankA).add(a);
            queueFor(rankB).add(b);
        }
    }

    private java.util.Queue<NcclOp> queueFor(int rank) {
        NcclRank r = ranks.get(rank);
        if (r == null) {
            throw new CollectiveException("communicator '" + name + "': rank " + rank + " left while a call was being"
                    + " agreed on");
        }
        return r.queue;
    }

    /** The logic of the host rendezvous: deposits are this rank's prepared calls. */
    private final class Rounds implements RoundLogic {
        @Override
        public Object validate(Object buffer, int rank, CollectiveKind kind) {
            return buffer; // prepared by start(): a Collective, or the failure every rank receives
        }

        @Override
        public Object combine(Supplier<String> what, Object[] deposits, CollectiveKind[] kinds, ReduceOp[] ops) {
            NcclOp.Collective c0 = (NcclOp.Collective) deposits[0];
            for (int i = 1; i < deposits.length; i++) {
                NcclOp.Collective c = (NcclOp.Collective) deposits[i];
                if (c.kind != c0.kind || (c.kind != CollectiveKind.ALLGATHER && c.op != c0.op)
                        || c.input.type() != c0.input.type() || c.input.count() != c0.input.count()) {
                    return new CollectiveException("communicator '" + name + "' " + what.get() + ": rank 0 called "
                            + c0.describe() + " but rank " + i + " called " + c.describe()
                            + "; every rank must make the same calls in the same order");
                }
            }
            synchronized (sequencer) {
                long t = nextTicket++;
                for (int r = 0; r < deposits.length; r++) {
                    NcclOp.Collective c = (NcclOp.Collective) deposits[r];
                    c.ticket = t;
                    queueFor(r).add(c);
                }
            }
            return SEQUENCED;
        }

        @Override
        public Object share(Object combined, int rank, int world, CollectiveKind kind, Object ownBuffer,
                            boolean inPlace) {
            return combined;
        }

        @Override
        public void whileWaiting(int rank) {
            NcclRank r = ranks.get(rank);
            if (r != null) {
                r.drain(); // keep issuing this rank's agreed calls: peers' devices may be waiting for them
            }
        }
    }

    // ------------------------------------------------------------------------------------------ calls

    @Override
    public CollectiveHandle start(CollectiveKind kind, ReduceOp op, int rank, Object buffer) {
        Object call = prepare(kind, op, rank, buffer, false, false);
        return handle(rank, call, () -> control.start(kind, op, rank, call));
    }

    @Override
    public CollectiveHandle startInPlace(ReduceOp op, int rank, Object buffer) {
        Object call = prepare(CollectiveKind.ALLREDUCE, op, rank, buffer, true, false);
        return handle(rank, call, () -> control.start(CollectiveKind.ALLREDUCE, op, rank, call));
    }

    @Override
    public CollectiveHandle startScoped(GraphScope scope, long execution, int key, CollectiveKind kind, ReduceOp op,
                                        int rank, Object buffer) {
        // A node owns its input (the compiler checks nothing else reads it): allreduce runs in place, the others free
        // the input once the operation has been issued.
        Object call = prepare(kind, op, rank, buffer, kind == CollectiveKind.ALLREDUCE, true);
        return handle(rank, call, () -> control.startScoped(scope, execution, key, kind, op, rank, call));
    }

    private CollectiveHandle handle(int rank, Object call, Supplier<CollectiveHandle> start) {
        NcclRank r = rank >= 0 && rank < worldSize() ? ranks.get(rank) : null;
        CollectiveHandle h;
        try {
            h = start.get();
        } catch (RuntimeException e) {
            if (call instanceof NcclOp.Collective) {
                ((NcclOp.Collective) call).abandon(r);
            }
            throw e;
        }
        return new Handle(r, call instanceof NcclOp.Collective ? (NcclOp.Collective) call : null, h);
    }

    /**
     * @return this rank's call, ready to be agreed on, or a failure that takes its place in the round (so every rank
     * fails this call and the group stays in step)
     */
    private Object prepare(CollectiveKind kind, ReduceOp op, int rank, Object buffer, boolean inPlace,
                           boolean consumesInput) {
        if (closed) {
            throw new CollectiveException("communicator '" + name + "' is closed");
        }
        if (buffer instanceof Throwable) {
            return buffer;
        }
        String where = "communicator '" + name + "' rank " + rank + " " + kind.label();
        if (rank < 0 || rank >= worldSize()) {
            return null; // the rendezvous rejects the rank with its own message
        }
        NcclRank r = ranks.get(rank);
        if (r == null) {
            return new CollectiveException(where + ": rank " + rank + " (actor '" + members().get(rank).name()
                    + "') has not joined; call join(rank, device) on its thread first");
        }
        if (!(buffer instanceof DeviceArray)) {
            return new CollectiveException(where + ": buffer is " + (buffer == null ? "null"
                    : buffer.getClass().getSimpleName()) + "; the NCCL communicator takes a DeviceArray on the rank's"
                    + " device");
        }
        DeviceArray in = (DeviceArray) buffer;
        if (in.device() != r.device) {
            return new CollectiveException(where + ": the buffer is on CUDA device " + in.device().ordinal()
                    + " (" + in.device().owner().getName() + "), but rank " + rank + " runs on device "
                    + r.device.ordinal());
        }
        if (!r.onOwnerThread()) {
            return new CollectiveException(where + ": called on thread '" + Thread.currentThread().getName()
                    + "', but rank " + rank + " belongs to thread '" + r.device.owner().getName() + "'");
        }
        int world = worldSize();
        long outCount;
        switch (kind) {
            case ALLGATHER -> outCount = in.count() * world;
            case REDUCESCATTER -> {
                if (in.count() % world != 0) {
                    return new CollectiveException(where + ": " + in.count() + " elements do not split into "
                            + world + " equal chunks");
                }
                outCount = in.count() / world;
            }
            default -> outCount = in.count();
        }
        DeviceArray out;
        try {
            out = inPlace ? in : DeviceArray.allocate(r.device, in.type(), outCount, name + "." + kind.label());
        } catch (RuntimeException e) {
            return new CollectiveException(where + ": cannot allocate the result: " + e.getMessage(), e);
        }
        CudaEvent ready = r.markMain();
        return new NcclOp.Collective(rank, world, kind, op, in, out, inPlace, consumesInput, ready);
    }

    @Override
    public Object await(CollectiveHandle h, int rank) {
        if (!(h instanceof Handle)) {
            return Communicator.super.await(h, rank);
        }
        Handle nh = (Handle) h;
        if (!nh.poll()) {
            control.waitQuietly(nh.control, rank); // the host rendezvous, issuing agreed calls meanwhile
            nh.poll();
        }
        Object r = nh.result();
        if (r instanceof Throwable) {
            Throwable t = (Throwable) r;
            throw new CollectiveException(t instanceof CollectiveException ? t.getMessage()
                    : "communicator '" + name + "' rank " + rank + ": a rank contributed a failure: " + t, t);
        }
        return r;
    }

    /** One rank's part in one call: the host round, then this rank's NCCL operation. */
    private final class Handle implements CollectiveHandle {
        private final NcclRank rank;
        private final NcclOp.Collective call;
        final CollectiveHandle control;
        private boolean done;
        private Object result;

        Handle(NcclRank rank, NcclOp.Collective call, CollectiveHandle control) {
            this.rank = rank;
            this.call = call;
            this.control = control;
        }

        @Override
        public boolean poll() {
            if (done) {
                return true;
            }
            if (rank != null) {
                rank.drain();
            }
            if (!control.poll()) {
                return false;
            }
            Object agreed = control.result();
            done = true;
            if (agreed != SEQUENCED) {
                if (call != null) {
                    call.abandon(rank);
                }
                result = agreed;
                return true;
            }
            rank.drain(); // our call was queued before the round was published: this issues it
            if (!call.issued) {
                result = new CollectiveException("communicator '" + name + "' rank " + call.rank + ": " + call
                        + " was agreed on but is not issued; was the call polled from another thread?");
            } else if (call.failure != null) {
                result = new CollectiveException("communicator '" + name + "' rank " + call.rank + ": NCCL failed "
                        + call.describe() + ": " + call.failure.getMessage(), call.failure);
            } else {
                result = call.complete(rank);
            }
            return true;
        }

        @Override
        public Object result() {
            if (!done) {
                throw new IllegalStateException("NCCL call of communicator '" + name + "' is not done");
            }
            return result;
        }
    }

    /** Fails calls still waiting for peers; each rank still {@link #leave}s on its own thread. Idempotent. */
    @Override
    public void close() {
        closed = true;
        control.close();
    }

    @Override
    public String toString() {
        return "NcclCommunicator[" + name + ", world=" + worldSize() + "]";
    }
}
