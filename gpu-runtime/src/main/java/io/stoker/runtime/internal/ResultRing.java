package io.stoker.runtime.internal;

import io.stoker.runtime.channel.StokerIdleStrategy;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * Where a compiled graph's results land: one pre-allocated slot per in-flight execution, so each result goes straight
 * to the caller that submitted it and results can be fetched in any order, by any thread.
 *
 * <p>Capacity counts executions submitted and not yet let go of. A submitter takes a free slot from a pool (under the
 * graph's submit lock) and records it in {@code slotOfSeq[seq & mask]}, where the actors find it; the slot returns to
 * the pool once its result has been consumed (or discarded) and every output has arrived. Callers address a result
 * by its ticket ({@link #ticket}: sequence number and slot).
 *
 * <pre>
 * slot lifecycle for execution seq:
 *   acquired  by the submitter, under the submit lock, before the input is written to any channel; state =
 *             outputs | HELD (the channels' release/acquire pairs publish slotOfSeq and the prepared fields)
 *   filling   each output's producer stores values[i] (release), then decrements the output count (volatile RMW);
 *             the first output that is a failure is also published at once: firstFailure, then failedSeq = seq
 *   ready     the producer of the last output, seeing HELD, stores readySeq = seq (volatile: publishes every value)
 *   claimed   the consuming caller CASes claimedSeq up to seq: exactly one consumer wins
 *   released  the slot returns to the pool, by exactly one party:
 *               - the consumer, after a complete result (readySeq == seq: no producer touches the slot again), or
 *               - whoever of consumer and last producer lets go second: the consumer clears HELD early (fast
 *                 failure, per-output fetches, discard); if outputs were still missing, the last producer sees HELD
 *                 clear and releases instead of publishing; if none were, the consumer waits for the (imminent)
 *                 readySeq store and releases.
 * </pre>
 *
 * <p>Why slotOfSeq[seq & mask] is never overwritten while an actor still needs it: every actor runs executions in
 * order, so if execution seq is incomplete, so are all later ones, and they all hold slots (a slot is held until all
 * its outputs arrived); execution seq+capacity (the next writer of that entry) therefore finds no free slot until seq
 * completes.
 *
 * <p>Waiting callers idle through their {@link StokerIdleStrategy}; in its parking phase they register in the slot's
 * {@code waiter} (or the capacity waiters) before re-checking, and producers unpark registered waiters after
 * publishing (volatile accesses on both sides: no wake-up is lost).
 */
public final class ResultRing {
    private static final VarHandle STATE;
    private static final VarHandle FIRST_START;
    private static final VarHandle COMPUTE;
    private static final VarHandle CLAIMED;
    private static final VarHandle FAILURE;
    private static final VarHandle VALUES = MethodHandles.arrayElementVarHandle(Object[].class);
    private static final VarHandle CAPACITY_WAITING;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            STATE = l.findVarHandle(Slot.class, "state", int.class);
            FIRST_START = l.findVarHandle(Slot.class, "firstStartNanos", long.class);
            COMPUTE = l.findVarHandle(Slot.class, "computeNanos", long.class);
            CLAIMED = l.findVarHandle(Slot.class, "claimedSeq", long.class);
            FAILURE = l.findVarHandle(Slot.class, "firstFailure", Object.class);
            CAPACITY_WAITING = l.findVarHandle(ResultRing.class, "capacityWaiting", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Bits of a ticket that hold the slot index; the rest hold the sequence number. */
    public static final int SLOT_BITS = 21;
    private static final long SLOT_MASK = (1L << SLOT_BITS) - 1;
    /** Output {@code -1} of {@link #await} means the whole result. */
    public static final int WHOLE = -1;
    private static final int HELD = 1 << 30;
    private static final int COUNT_MASK = HELD - 1;
    private static final int POLLS_PER_CHECK = 0x3FF;

    /** One execution's result and timings. Fields are owned as described on {@link ResultRing}. */
    public static final class Slot {
        final int index;
        final Integer boxedIndex;
        final Object[] values;
        volatile long readySeq = -1;
        volatile long failedSeq = -1;
        volatile long claimedSeq = -1;
        volatile long cancelledSeq = -1;
        volatile Thread waiter;
        int state;
        Object firstFailure;
        long submitNanos;
        long firstStartNanos;
        long computeNanos;
        long endNanos;
        boolean async;

        Slot(int index, int outputs) {
            this.index = index;
            this.boxedIndex = index; // allocated once: the free pool holds these, so releasing allocates nothing
            this.values = new Object[outputs];
        }

        public int index() {
            return index;
        }

        /** @return true when every output of execution {@code seq} has arrived */
        public boolean isComplete(long seq) {
            return readySeq == seq;
        }

        public long submitNanos() {
            return submitNanos;
        }

        public long firstStartNanos() {
            return (long) FIRST_START.getVolatile(this);
        }

        public long computeNanos() {
            return (long) COMPUTE.getVolatile(this);
        }

        public long endNanos() {
            return endNanos;
        }

        /** @return output {@code i}, or null while it has not arrived */
        public Object value(int i) {
            return VALUES.getAcquire(values, i);
        }

        /** @return the first output that arrived as a failure (once the slot is ready or failed), or null */
        public Object firstFailure() {
            return FAILURE.getAcquire(this);
        }
    }

    /** Tells a waiting caller to stop waiting because the graph failed or closed. */
    @FunctionalInterface
    public interface AbortCheck {
        /** @return null to keep waiting, or the reason to give up */
        RuntimeException abortReason();
    }

    /** Called by a producer when an async slot has its result, or a first failure. */
    @FunctionalInterface
    public interface AsyncReady {
        void ready(int slot, long seq);
    }

    private final Slot[] slots;
    private final int[] slotOfSeq;
    private final int seqMask;
    private final ManyToOneConcurrentArrayQueue<Integer> free;
    private final ConcurrentLinkedQueue<Thread> capacityWaiters = new ConcurrentLinkedQueue<>();
    @SuppressWarnings("unused") // accessed through CAPACITY_WAITING
    private volatile int capacityWaiting;
    private final int capacity;
    private final int outputs;
    private final AsyncReady onAsyncReady;

    /**
     * @param capacity     max executions submitted and not yet let go of
     * @param outputs      number of graph outputs each execution produces
     * @param onAsyncReady called by the producer that completes (or first fails) a slot acquired as async
     */
    public ResultRing(int capacity, int outputs, AsyncReady onAsyncReady) {
        if (capacity < 1 || capacity > (1 << (SLOT_BITS - 1))) {
            throw new IllegalArgumentException("capacity=" + capacity + " must be between 1 and "
                    + (1 << (SLOT_BITS - 1)));
        }
        if (outputs < 1 || outputs >= COUNT_MASK) {
            throw new IllegalArgumentException("outputs=" + outputs + " must be between 1 and " + (COUNT_MASK - 1));
        }
        this.capacity = capacity;
        this.outputs = outputs;
        this.onAsyncReady = onAsyncReady;
        this.slots = new Slot[capacity];
        this.free = new ManyToOneConcurrentArrayQueue<>(capacity);
        for (int i = 0; i < capacity; i++) {
            slots[i] = new Slot(i, outputs);
            free.offer(slots[i].boxedIndex);
        }
        int table = capacity == 1 ? 1 : Integer.highestOneBit(capacity - 1) << 1;
        this.slotOfSeq = new int[table];
        this.seqMask = table - 1;
    }

    public int capacity() {
        return capacity;
    }

    public int outputs() {
        return outputs;
    }

    /** @return a ticket naming execution {@code seq} held in slot {@code slot} */
    public static long ticket(long seq, int slot) {
        return (seq << SLOT_BITS) | slot;
    }

    public static long seqOf(long ticket) {
        return ticket >>> SLOT_BITS;
    }

    public static int slotOf(long ticket) {
        return (int) (ticket & SLOT_MASK);
    }

    public Slot slotAt(int index) {
        return slots[index];
    }

    private Slot slotFor(long seq) {
        return slots[slotOfSeq[(int) seq & seqMask]];
    }

    /**
     * @return true when a slot looks free; a hint only (a slot being returned can show here before
     * {@link #acquire} can take it), so callers retry {@link #acquire} itself
     */
    public boolean hasFreeSlot() {
        return !free.isEmpty();
    }

    // ------------------------------------------------------------------------------------------ submitter side

    /**
     * Takes a free slot for execution {@code seq} and prepares it. Called by the submitter under the graph's submit
     * lock, before the input is written to any channel.
     *
     * @param nowNanos the submit time for timings, or 0 when the graph keeps none (a clock read per submit is a
     *                 measurable share of a pipelined execution)
     * @return the slot index, or -1 when {@code capacity} executions are held
     */
    public int acquire(long seq, long nowNanos, boolean async) {
        Integer boxed = free.poll();
        if (boxed == null) {
            return -1;
        }
        Slot s = slots[boxed];
        s.state = outputs | HELD;
        FAILURE.set(s, null);
        s.submitNanos = nowNanos;
        FIRST_START.setRelease(s, 0L);
        COMPUTE.setRelease(s, 0L);
        s.endNanos = 0;
        s.async = async;
        slotOfSeq[(int) seq & seqMask] = s.index;
        return s.index;
    }

    /**
     * Waits, without holding any lock, until a slot looks free ({@link #hasFreeSlot()}); the caller then retries
     * {@link #acquire} under its lock. Parks in the policy's parking phase; {@link #release} wakes registered waiters.
     *
     * @return false when {@code deadlineNanos} passed first
     * @throws RuntimeException the abort reason when {@code abort} reports one
     */
    public boolean awaitFreeSlot(long deadlineNanos, StokerIdleStrategy idle, AbortCheck abort) {
        idle.reset();
        int polls = 0;
        while (!hasFreeSlot()) {
            if (!idle.idleUnlessParking()) {
                if ((++polls & POLLS_PER_CHECK) != 0) {
                    continue;
                }
                if (System.nanoTime() - deadlineNanos > 0) {
                    return false;
                }
                RuntimeException reason = abort.abortReason();
                if (reason != null) {
                    throw reason;
                }
                continue;
            }
            Thread me = Thread.currentThread();
            capacityWaiters.add(me);
            CAPACITY_WAITING.getAndAdd(this, 1);
            try {
                if (hasFreeSlot()) {
                    return true;
                }
                RuntimeException reason = abort.abortReason();
                if (reason != null) {
                    throw reason;
                }
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                idle.park(this, left);
            } finally {
                CAPACITY_WAITING.getAndAdd(this, -1);
                capacityWaiters.remove(me);
            }
        }
        return true;
    }

    /** Wakes every caller waiting for capacity, for example after the graph failed or closed. */
    public void wakeCapacityWaiters() {
        for (Thread t : capacityWaiters) {
            LockSupport.unpark(t);
        }
    }

    // ------------------------------------------------------------------------------------------ producer side

    /** Records that a task of execution {@code seq} started at {@code nowNanos} (first caller wins). */
    public void markStart(long seq, long nowNanos) {
        Slot s = slotFor(seq);
        if ((long) FIRST_START.getOpaque(s) == 0L) {
            FIRST_START.compareAndSet(s, 0L, nowNanos);
        }
    }

    /** Adds a task's compute time to execution {@code seq}. */
    public void addCompute(long seq, long nanos) {
        COMPUTE.getAndAdd(slotFor(seq), nanos);
    }

    /** @return true when execution {@code seq} was cancelled: its tasks that have not started are skipped */
    public boolean isCancelled(long seq) {
        return slotFor(seq).cancelledSeq == seq;
    }

    /**
     * Delivers output {@code index} of execution {@code seq}. The first failed output is published at once (fast
     * failure); the producer that delivers the last output publishes the slot, or releases it when its consumer has
     * already let go.
     *
     * @param failed whether {@code value} is a failure rather than a result
     */
    public void complete(long seq, int index, Object value, boolean failed, long nowNanos) {
        Slot s = slotFor(seq);
        VALUES.setRelease(s.values, index, value);
        boolean async = s.async;
        if (failed && FAILURE.compareAndSet(s, null, value)) {
            s.failedSeq = seq; // volatile: publishes firstFailure
            notifyConsumer(s, seq, async);
        }
        int old = (int) STATE.getAndAdd(s, -1);
        if ((old & COUNT_MASK) != 1) {
            if (!async) {
                Thread w = s.waiter; // a caller may wait for this one output
                if (w != null) {
                    LockSupport.unpark(w);
                }
            }
            return;
        }
        if ((old & HELD) == 0) {
            free(s); // the consumer let go before the last output arrived: nobody reads this result
            return;
        }
        boolean toldFailure = async && s.failedSeq == seq; // an async consumer was already told of the failure
        s.endNanos = nowNanos;
        s.readySeq = seq; // volatile: publishes every value and endNanos; after it only the wake-up reads the slot
        if (!toldFailure) {
            notifyConsumer(s, seq, async);
        }
    }

    private void notifyConsumer(Slot s, long seq, boolean async) {
        if (async) {
            onAsyncReady.ready(s.index, seq);
        } else {
            Thread w = s.waiter;
            if (w != null) {
                LockSupport.unpark(w); // a spurious unpark of a later waiter of a reused slot is harmless
            }
        }
    }

    // ------------------------------------------------------------------------------------------ consumer side

    /** @return true once the execution of {@code ticket} has all its outputs or a failed one (a fetch would not wait) */
    public boolean isReady(long ticket) {
        Slot s = slots[slotOf(ticket)];
        long seq = seqOf(ticket);
        return s.readySeq == seq || s.failedSeq == seq;
    }

    /** @return true once output {@code output} of {@code ticket} has arrived (valid while the ticket is held) */
    public boolean isOutputReady(long ticket, int output) {
        return slots[slotOf(ticket)].value(output) != null;
    }

    /**
     * Waits until the execution of {@code ticket} is ready (all outputs, or a first failed output) or, for
     * {@code output >= 0}, until that one output has arrived. The idle strategy (per waiting thread) is fetched only
     * when the result is not there yet.
     *
     * @throws TimeoutException when {@code timeoutNanos} pass first
     * @throws RuntimeException the abort reason when {@code abort} reports one
     */
    public Slot await(long ticket, int output, long timeoutNanos, Supplier<StokerIdleStrategy> idleOfThisThread,
                      AbortCheck abort) throws TimeoutException {
        Slot s = slots[slotOf(ticket)];
        if (arrived(s, seqOf(ticket), output)) {
            return s; // the common case in a pipeline, kept small so the JIT inlines it into the caller
        }
        return awaitSlow(s, seqOf(ticket), output, timeoutNanos, idleOfThisThread, abort);
    }

    private Slot awaitSlow(Slot s, long seq, int output, long timeoutNanos,
                           Supplier<StokerIdleStrategy> idleOfThisThread, AbortCheck abort) throws TimeoutException {
        long deadline = System.nanoTime() + timeoutNanos;
        StokerIdleStrategy idle = idleOfThisThread.get();
        idle.reset();
        int polls = 0;
        while (!idle.idleUnlessParking()) {
            if (arrived(s, seq, output)) {
                return s;
            }
            if ((++polls & POLLS_PER_CHECK) == 0) {
                RuntimeException reason = abort.abortReason();
                if (reason != null) {
                    throw reason;
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new TimeoutException();
                }
            }
        }
        Thread me = Thread.currentThread();
        try {
            while (true) {
                s.waiter = me;
                if (arrived(s, seq, output)) {
                    return s;
                }
                RuntimeException reason = abort.abortReason();
                if (reason != null) {
                    throw reason;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TimeoutException();
                }
                idle.park(this, left);
            }
        } finally {
            s.waiter = null;
        }
    }

    private static boolean arrived(Slot s, long seq, int output) {
        if (output == WHOLE) {
            return s.readySeq == seq || s.failedSeq == seq;
        }
        return s.value(output) != null;
    }

    /**
     * Claims the result of {@code ticket} for one consumer. Only the winner may read the values and then
     * {@link #release} or {@link #letGo} the slot.
     *
     * @return false when another caller already claimed it (a second fetch of the same execution)
     */
    public boolean claim(long ticket) {
        Slot s = slots[slotOf(ticket)];
        long seq = seqOf(ticket);
        long c = s.claimedSeq;
        return c < seq && CLAIMED.compareAndSet(s, c, seq);
    }

    /** @return true when the result of {@code ticket} was already claimed (its slot may since serve a later one) */
    public boolean isClaimed(long ticket) {
        return slots[slotOf(ticket)].claimedSeq >= seqOf(ticket);
    }

    /** Marks a held execution cancelled: tasks that have not started yet skip it. */
    public void cancel(long ticket) {
        slots[slotOf(ticket)].cancelledSeq = seqOf(ticket);
    }

    /** Frees a claimed slot whose result is complete ({@link Slot#isComplete}) for a later execution. */
    public void release(int slot) {
        free(slots[slot]);
    }

    /**
     * The claiming consumer lets go of {@code ticket}, complete or not: the slot is freed now if every output has
     * arrived, else by the producer of the last output.
     */
    public void letGo(long ticket) {
        Slot s = slots[slotOf(ticket)];
        long seq = seqOf(ticket);
        int old = (int) STATE.getAndAdd(s, -HELD);
        if ((old & COUNT_MASK) != 0) {
            return; // the last producer will see HELD clear and free the slot
        }
        while (s.readySeq != seq) {
            Thread.onSpinWait(); // the last producer saw HELD and is about to publish; it touches nothing after
        }
        free(s);
    }

    private void free(Slot s) {
        for (int i = 0; i < outputs; i++) {
            s.values[i] = null;
        }
        // Dekker with awaitFreeSlot: offer's CAS of the pool's tail is a volatile write and the waiter count read is
        // volatile, so they are not reordered; a waiter increments the count (volatile) before reading the tail.
        free.offer(s.boxedIndex);
        if ((int) CAPACITY_WAITING.getVolatile(this) != 0) {
            wakeCapacityWaiters();
        }
    }

    /** Wakes every parked result waiter, for example after the graph failed. */
    public void wakeAll() {
        for (Slot s : slots) {
            Thread w = s.waiter;
            if (w != null) {
                LockSupport.unpark(w);
            }
        }
        wakeCapacityWaiters();
    }
}
