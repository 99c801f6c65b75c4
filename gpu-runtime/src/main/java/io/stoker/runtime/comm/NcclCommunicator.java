package io.stoker.runtime.comm;

import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.cuda.CudaDataType;
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
 * A {@link Communicator} over NCCL for GPU actors of one JVM (or this JVM's part of a group that spans JVMs: see
 * below), with the same matching guarantees as
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
 * <p><b>Groups that span JVMs.</b> {@link #spanning} makes this JVM's part of an NCCL group of {@link #groupSize()}
 * ranks: its {@link #members()} hold the NCCL ranks {@link #firstRank()} to {@code firstRank + members().size() - 1},
 * the other ranks are in other JVMs (Spark executors) that build their own part under the same group name, and the
 * id travels through the given {@link NcclIdExchange} (the driver's, for executors). The ranks of the
 * {@link Communicator} calls stay positions in {@link #members()} (local ranks); outputs are sized by the whole group
 * (an allgather returns {@code groupSize} times its input). Everything above then holds among the local ranks only:
 * the host rendezvous matches and orders the calls of this JVM's ranks and nothing else. Across JVMs nothing on the
 * host checks the calls: what keeps every JVM's ranks issuing the same operations in the same order is that each
 * JVM runs the same compiled graph (whose compile-time check covers the order of its collective nodes) or the same
 * code, plus NCCL's own matching: a real GPU hangs or corrupts on a mismatch, the CUDA simulator fails every rank
 * naming each rank's call, and a rank that never arrives fails the call after the simulator's timeout. Ranks in
 * other JVMs exchange data with this JVM's ranks through the collectives and through {@link #sendTo}/{@link #recvFrom}.
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
    /** The name the id is exchanged under: the same in every JVM of a group that spans JVMs. */
    private final String group;
    private final int groupSize;
    private final int firstRank;
    private final CpuCommunicator control;
    private final long timeoutNanos;
    private final NcclIdExchange ids;
    private final AtomicReferenceArray<NcclRank> ranks;
    private final Object sequencer = new Object();
    private long nextTicket; // guarded by sequencer
    private volatile boolean closed;

    private NcclCommunicator(String name, String group, int groupSize, int firstRank,
                             List<? extends ActorHandle<?>> members, long timeoutNanos, NcclIdExchange ids) {
        this.name = name;
        this.group = group;
        this.groupSize = groupSize;
        this.firstRank = firstRank;
        this.timeoutNanos = timeoutNanos;
        this.ids = ids;
        this.control = CpuCommunicator.withLogic(name, members, timeoutNanos, new Rounds());
        this.ranks = new AtomicReferenceArray<>(members.size());
    }

    /** A communicator whose ranks are {@code members}, in order; each must {@link #join} before calling. */
    public static NcclCommunicator create(String name, List<? extends ActorHandle<?>> members) {
        return create(name, members, 60, TimeUnit.SECONDS);
    }

    /** Like {@link #create(String, List)} with a timeout for blocking calls and for joining. */
    public static NcclCommunicator create(String name, List<? extends ActorHandle<?>> members, long timeout,
                                          TimeUnit unit) {
        return new NcclCommunicator(name, name + "#" + GROUPS.incrementAndGet() + "@" + ProcessHandle.current().pid(),
                members.size(), 0, members, unit.toNanos(timeout), NcclIdExchange.inProcess());
    }

    /**
     * This JVM's part of an NCCL group whose other ranks live in other JVMs (see the class comment).
     *
     * @param group     the group's name, the same in every JVM of the group (and unique while it forms); ids are
     *                  exchanged under it
     * @param groupSize the number of ranks of the whole group
     * @param firstRank the NCCL rank of {@code members.get(0)}; the members hold consecutive ranks
     * @param ids       how rank 0 hands the id to the others ({@code DriverNcclIdExchange} between executors)
     * @throws IllegalArgumentException when the members do not fit in the group
     */
    public static NcclCommunicator spanning(String name, String group, int groupSize, int firstRank,
                                            List<? extends ActorHandle<?>> members, NcclIdExchange ids, long timeout,
                                            TimeUnit unit) {
        if (group == null || group.isBlank()) {
            throw new IllegalArgumentException("communicator '" + name + "': the group needs a name, the same in every"
                    + " JVM of the group");
        }
        if (members.isEmpty() || firstRank < 0 || firstRank + members.size() > groupSize) {
            throw new IllegalArgumentException("communicator '" + name + "': " + members.size() + " member(s) from"
                    + " rank " + firstRank + " do not fit in a group of " + groupSize + " ranks; give firstRank"
                    + " 0.." + Math.max(0, groupSize - members.size()) + " and at least one member");
        }
        return new NcclCommunicator(name, group, groupSize, firstRank, members, unit.toNanos(timeout),
                java.util.Objects.requireNonNull(ids, "ids"));
    }

    /** @return the number of ranks of the NCCL group: {@link #worldSize()} plus the ranks in other JVMs */
    public int groupSize() {
        return groupSize;
    }

    /** @return the NCCL rank of {@code members().get(0)} (0 unless the group spans JVMs) */
    public int firstRank() {
        return firstRank;
    }

    /** @return the NCCL rank of local rank {@code rank} */
    int ncclRank(int rank) {
        return firstRank + rank;
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
        byte[] id = ids.exchange(group, ncclRank(rank), groupSize, Nccl::uniqueId, timeoutMillis);
        NcclComm comm = Nccl.initRank(device, groupSize, id, ncclRank(rank));
        CudaStream stream;
        try {
            stream = device.newStream();
        } catch (RuntimeException e) {
            comm.close();
            throw e;
        }
        ranks.set(rank, new NcclRank(rank, device, comm, stream));
        LOG.debug("communicator '{}': rank {} (NCCL rank {} of {}) joined on CUDA device {}", name, rank,
                ncclRank(rank), groupSize, device.ordinal());
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

    /** Gives {@code op} the next ticket and queues it for {@code rank} alone: a transfer with a rank of another JVM. */
    private void sequence(NcclOp op, int rank) {
        synchronized (sequencer) {
            op.ticket = nextTicket++;
            queueFor(rank).add(op);
        }
    }

    // ------------------------------------------------------------------------------------------ other JVMs

    /**
     * Sends {@code data} from local rank {@code rank} to NCCL rank {@code peer} of another JVM, which calls
     * {@link #recvFrom} for it. Takes its place in this communicator's order like a collective; on the rank's thread.
     * The caller keeps {@code data}: the device's main stream waits for the send, so work queued after this call
     * (including freeing the array) runs once the data has left. Nothing on the host matches it with the peer's
     * call: NCCL does (see the class comment).
     *
     * @throws IllegalArgumentException when {@code peer} is not a rank of another JVM, or the array is elsewhere
     * @throws CollectiveException      when NCCL refuses the call
     */
    public void sendTo(int rank, DeviceArray data, int peer) {
        NcclRank r = peerCall(rank, peer, "send to");
        if (data.device() != r.device) {
            throw new IllegalArgumentException("communicator '" + name + "' rank " + rank + ": the array is on CUDA"
                    + " device " + data.device().ordinal() + ", but the rank runs on device " + r.device.ordinal());
        }
        NcclOp.Send op = new NcclOp.Send(data, peer, null, r.markMain());
        sequence(op, rank);
        r.drain();
        checkIssued(op, rank);
        op.mainWaitsForDone(r);
    }

    /**
     * Receives {@code count} elements of {@code type} on local rank {@code rank} from NCCL rank {@code peer} of
     * another JVM (its {@link #sendTo}). On the rank's thread; the result is a new array the caller owns, ready in
     * stream order on the device's main stream.
     *
     * @throws IllegalArgumentException when {@code peer} is not a rank of another JVM
     * @throws CollectiveException      when NCCL refuses the call
     */
    public DeviceArray recvFrom(int rank, int peer, CudaDataType type, long count) {
        NcclRank r = peerCall(rank, peer, "receive from");
        NcclOp.Recv op = new NcclOp.Recv(peer, type, count, name + ".recvFrom" + peer);
        sequence(op, rank);
        r.drain();
        try {
            checkIssued(op, rank);
        } catch (RuntimeException e) {
            if (op.output != null) {
                op.output.close();
            }
            throw e;
        }
        return op.complete(r);
    }

    private NcclRank peerCall(int rank, int peer, String doing) {
        if (closed) {
            throw new CollectiveException("communicator '" + name + "' is closed");
        }
        NcclRank r = rankState(rank, doing, "to NCCL rank " + peer);
        if (!r.onOwnerThread()) {
            throw new IllegalStateException("communicator '" + name + "' rank " + rank + ": " + doing + " NCCL rank "
                    + peer + " on thread '" + Thread.currentThread().getName() + "', but the rank belongs to thread '"
                    + r.device.owner().getName() + "'");
        }
        if (peer < 0 || peer >= groupSize) {
            throw new IllegalArgumentException("communicator '" + name + "' rank " + rank + ": cannot " + doing
                    + " NCCL rank " + peer + "; the group has ranks 0.." + (groupSize - 1));
        }
        if (peer >= firstRank && peer < firstRank + worldSize()) {
            throw new IllegalArgumentException("communicator '" + name + "' rank " + rank + ": cannot " + doing
                    + " NCCL rank " + peer + ", a rank of this JVM (" + firstRank + ".." + (firstRank + worldSize() - 1)
                    + "); ranks of one JVM exchange arrays through an NcclChannel");
        }
        return r;
    }

    private void checkIssued(NcclOp op, int rank) {
        if (!op.issued) {
            throw new CollectiveException("communicator '" + name + "' rank " + rank + ": " + op + " was not issued;"
                    + " the rank has left");
        }
        if (op.failure != null) {
            throw new CollectiveException("communicator '" + name + "' rank " + rank + ": NCCL failed " + op + ": "
                    + op.failure.getMessage(), op.failure);
        }
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
        int world = groupSize;
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
        return "NcclCommunicator[" + name + ", world=" + groupSize
                + (groupSize == worldSize() ? "" : ", local ranks " + firstRank + ".." + (firstRank + worldSize() - 1))
                + "]";
    }
}
