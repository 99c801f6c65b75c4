package io.stoker.runtime.channel;

import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * Where a compiled graph's results land: one pre-allocated slot per in-flight execution, so each result goes straight
 * to the caller that submitted it and results can be fetched in any order, by any thread.
 *
 * <p>Capacity counts executions submitted and not yet fetched. A submitter takes a free slot from a pool (under the
 * graph's submit lock) and records it in {@code slotOfSeq[seq & mask]}, where the actors find it; a fetching caller
 * returns the slot to the pool. Callers address a result by its ticket ({@link #ticket}: sequence number and slot).
 *
 * <pre>
 * slot lifecycle for execution seq:
 *   acquired  by the submitter, under the submit lock, before the input is written to any channel
 *             (the channels' release/acquire pairs publish slotOfSeq and the prepared fields to every actor)
 *   filling   each output's producer stores values[i], then decrements 'remaining' (volatile RMW)
 *   ready     the producer that brings 'remaining' to 0 stores readySeq = seq (volatile: publishes all values)
 *   claimed   the fetching caller CASes claimedSeq up to seq: exactly one fetch wins, then reads the values
 *   released  the winner clears the values and returns the slot to the pool
 * </pre>
 *
 * <p>Why slotOfSeq[seq & mask] is never overwritten while an actor still needs it: every actor runs executions in
 * order, so if execution seq is incomplete, so are all later ones, and all of seq .. seq+capacity-1 hold slots;
 * execution seq+capacity (the next writer of that entry) therefore finds no free slot until seq completes.
 *
 * <p>Waiting callers idle per {@link IdleKind} and finally park after registering in {@code waiter}; the completing
 * producer unparks the registered waiter after publishing (both sides use volatile accesses: no wake-up is lost).
 */
public final class ResultRing {
    private static final VarHandle REMAINING;
    private static final VarHandle FIRST_START;
    private static final VarHandle COMPUTE;
    private static final VarHandle CLAIMED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            REMAINING = l.findVarHandle(Slot.class, "remaining", int.class);
            FIRST_START = l.findVarHandle(Slot.class, "firstStartNanos", long.class);
            COMPUTE = l.findVarHandle(Slot.class, "computeNanos", long.class);
            CLAIMED = l.findVarHandle(Slot.class, "claimedSeq", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Bits of a ticket that hold the slot index; the rest hold the sequence number. */
    public static final int SLOT_BITS = 21;
    private static final long SLOT_MASK = (1L << SLOT_BITS) - 1;
    private static final long YIELD_NANOS = 200_000;
    private static final long MAX_PARK_NANOS = 1_000_000L;

    /** One execution's result and timings. Fields are owned as described on {@link ResultRing}. */
    public static final class Slot {
        final int index;
        final Integer boxedIndex;
        final Object[] values;
        volatile long readySeq = -1;
        volatile long claimedSeq = -1;
        volatile Thread waiter;
        int remaining;
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

        /** @return the sequence number of the last execution published in this slot */
        public long readySeq() {
            return readySeq;
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

        public Object value(int index) {
            return values[index];
        }
    }

    /** Tells a waiting caller to stop waiting because the graph failed or closed. */
    @FunctionalInterface
    public interface AbortCheck {
        /** @return null to keep waiting, or the reason to give up */
        RuntimeException abortReason();
    }

    private final Slot[] slots;
    private final int[] slotOfSeq;
    private final int seqMask;
    private final ManyToOneConcurrentArrayQueue<Integer> free;
    private final int capacity;
    private final int outputs;
    private final IntConsumer onAsyncReady;

    /**
     * @param capacity     max executions submitted and not yet fetched
     * @param outputs      number of graph outputs each execution produces
     * @param onAsyncReady called by the completing producer, with the slot index, for slots acquired as async
     */
    public ResultRing(int capacity, int outputs, IntConsumer onAsyncReady) {
        if (capacity < 1 || capacity > (1 << (SLOT_BITS - 1))) {
            throw new IllegalArgumentException("capacity=" + capacity + " must be between 1 and "
                    + (1 << (SLOT_BITS - 1)));
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

    /**
     * Takes a free slot for execution {@code seq} and prepares it. Called by the submitter under the graph's submit
     * lock, before the input is written to any channel.
     *
     * @return the slot index, or -1 when {@code capacity} executions are unfetched
     */
    public int acquire(long seq, long nowNanos, boolean async) {
        Integer boxed = free.poll();
        if (boxed == null) {
            return -1;
        }
        Slot s = slots[boxed];
        s.remaining = outputs;
        s.submitNanos = nowNanos;
        FIRST_START.setRelease(s, 0L);
        COMPUTE.setRelease(s, 0L);
        s.endNanos = 0;
        s.async = async;
        slotOfSeq[(int) seq & seqMask] = s.index;
        return s.index;
    }

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

    /**
     * Delivers output {@code index} of execution {@code seq}. The producer that delivers the last output publishes
     * the slot and wakes its waiter.
     */
    public void complete(long seq, int index, Object value, long nowNanos) {
        Slot s = slotFor(seq);
        s.values[index] = value;
        if ((int) REMAINING.getAndAdd(s, -1) == 1) {
            s.endNanos = nowNanos;
            s.readySeq = seq;
            if (s.async) {
                onAsyncReady.accept(s.index);
            } else {
                Thread w = s.waiter;
                if (w != null) {
                    LockSupport.unpark(w);
                }
            }
        }
    }

    /** @return true once the execution of {@code ticket} has all its outputs */
    public boolean isReady(long ticket) {
        return slots[slotOf(ticket)].readySeq == seqOf(ticket);
    }

    /**
     * Waits until the execution of {@code ticket} is ready, idling like the graph's actors: {@link IdleKind#SPIN}
     * spins, {@link IdleKind#YIELD} yields, {@link IdleKind#BACKOFF} yields for up to 200 µs then parks,
     * {@link IdleKind#PARK} parks at once.
     *
     * @throws TimeoutException when {@code timeoutNanos} pass first
     * @throws RuntimeException the abort reason when {@code abort} reports one
     */
    public Slot await(long ticket, long timeoutNanos, IdleKind idle, AbortCheck abort) throws TimeoutException {
        Slot s = slots[slotOf(ticket)];
        long seq = seqOf(ticket);
        if (s.readySeq == seq) {
            return s;
        }
        long start = System.nanoTime();
        long deadline = start + timeoutNanos;
        if (idle != IdleKind.PARK) {
            int tries = 0;
            while (true) {
                if (idle == IdleKind.SPIN) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
                if (s.readySeq == seq) {
                    return s;
                }
                tries++;
                if (idle == IdleKind.BACKOFF && System.nanoTime() - start > YIELD_NANOS) {
                    break;
                }
                if ((tries & 0x3FF) == 0) {
                    RuntimeException reason = abort.abortReason();
                    if (reason != null) {
                        throw reason;
                    }
                    if (System.nanoTime() - deadline > 0) {
                        throw new TimeoutException();
                    }
                }
            }
        }
        Thread me = Thread.currentThread();
        try {
            while (true) {
                s.waiter = me;
                if (s.readySeq == seq) {
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
                LockSupport.parkNanos(this, Math.min(left, MAX_PARK_NANOS));
            }
        } finally {
            s.waiter = null;
        }
    }

    /**
     * Claims the result of {@code ticket} for one caller. Only the winner may read the values and then
     * {@link #release} the slot.
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

    /** Frees a claimed slot for a later execution. */
    public void release(int slot) {
        Slot s = slots[slot];
        for (int i = 0; i < outputs; i++) {
            s.values[i] = null;
        }
        free.offer(s.boxedIndex);
    }

    /** Wakes every parked waiter, for example after the graph failed. */
    public void wakeAll() {
        for (Slot s : slots) {
            Thread w = s.waiter;
            if (w != null) {
                LockSupport.unpark(w);
            }
        }
    }
}
