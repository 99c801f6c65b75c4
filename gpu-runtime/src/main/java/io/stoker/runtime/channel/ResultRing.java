package io.stoker.runtime.channel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;

/**
 * Where a compiled graph's results land: one pre-allocated slot per in-flight execution, indexed by
 * {@code seq & (capacity - 1)}, so each result goes straight to the caller that submitted it and results can be
 * fetched in any order by any thread.
 *
 * <pre>
 * slot lifecycle for execution seq (capacity C):
 *   free      releasedSeq == seq - C           (the previous occupant's result was taken)
 *   prepared  by the submitter, under the graph's submit lock, before the input is written to any channel
 *   filling   each output's producer stores values[i], then decrements 'remaining' (volatile RMW)
 *   ready     the producer that brings 'remaining' to 0 stores readySeq = seq (volatile: publishes all values)
 *   claimed   the fetching caller CASes claimedSeq up to seq: exactly one fetch wins, then reads the values
 *   taken     the winner clears the values and stores releasedSeq = seq (volatile): the slot is free again
 * </pre>
 *
 * <p>Timing fields are written by actors with atomic adds and read by the caller after {@code ready}.
 * Waiting callers spin, then yield, then park after registering in {@code waiter}; the completing producer
 * unparks the registered waiter after publishing (both sides use volatile accesses, so no wake-up is lost).
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

    private static final long YIELD_NANOS = 200_000;
    private static final long MAX_PARK_NANOS = 1_000_000L;

    /** One execution's result and timings. Fields are owned as described on {@link ResultRing}. */
    public static final class Slot {
        final Object[] values;
        volatile long readySeq = -1;
        volatile long releasedSeq;
        volatile long claimedSeq = -1;
        volatile Thread waiter;
        int remaining;
        long submitNanos;
        long firstStartNanos;
        long computeNanos;
        long endNanos;
        boolean async;

        Slot(int outputs, long releasedSeq) {
            this.values = new Object[outputs];
            this.releasedSeq = releasedSeq;
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
    private final int mask;
    private final int capacity;
    private final int outputs;
    private final LongConsumer onAsyncReady;

    /**
     * @param minCapacity  max in-flight executions (rounded up to a power of two)
     * @param outputs      number of graph outputs each execution produces
     * @param onAsyncReady called by the completing producer for slots prepared with {@code async = true}
     */
    public ResultRing(int minCapacity, int outputs, LongConsumer onAsyncReady) {
        int cap = Integer.highestOneBit(Math.max(1, minCapacity - 1)) << 1;
        if (minCapacity == 1) {
            cap = 1;
        }
        this.capacity = cap;
        this.mask = cap - 1;
        this.outputs = outputs;
        this.onAsyncReady = onAsyncReady;
        this.slots = new Slot[cap];
        for (int i = 0; i < cap; i++) {
            slots[i] = new Slot(outputs, i - (long) cap);
        }
    }

    public int capacity() {
        return capacity;
    }

    public int outputs() {
        return outputs;
    }

    public Slot slot(long seq) {
        return slots[(int) seq & mask];
    }

    /** @return true when execution {@code seq} may be submitted: its slot's previous result was taken */
    public boolean isFree(long seq) {
        return slots[(int) seq & mask].releasedSeq == seq - capacity;
    }

    /** Prepares the slot of {@code seq}; the submitter calls this before writing the input to any channel. */
    public void prepare(long seq, long nowNanos, boolean async) {
        Slot s = slots[(int) seq & mask];
        s.remaining = outputs;
        s.submitNanos = nowNanos;
        FIRST_START.setRelease(s, 0L);
        COMPUTE.setRelease(s, 0L);
        s.endNanos = 0;
        s.async = async;
    }

    /** Records that a task of execution {@code seq} started at {@code nowNanos} (first caller wins). */
    public void markStart(long seq, long nowNanos) {
        Slot s = slots[(int) seq & mask];
        if ((long) FIRST_START.getOpaque(s) == 0L) {
            FIRST_START.compareAndSet(s, 0L, nowNanos);
        }
    }

    /** Adds a task's compute time to execution {@code seq}. */
    public void addCompute(long seq, long nanos) {
        COMPUTE.getAndAdd(slots[(int) seq & mask], nanos);
    }

    /**
     * Delivers output {@code index} of execution {@code seq}. The producer that delivers the last output publishes
     * the slot and wakes its waiter.
     */
    public void complete(long seq, int index, Object value, long nowNanos) {
        Slot s = slots[(int) seq & mask];
        s.values[index] = value;
        if ((int) REMAINING.getAndAdd(s, -1) == 1) {
            s.endNanos = nowNanos;
            s.readySeq = seq;
            if (s.async) {
                onAsyncReady.accept(seq);
            } else {
                Thread w = s.waiter;
                if (w != null) {
                    LockSupport.unpark(w);
                }
            }
        }
    }

    /** @return true once execution {@code seq} has all its outputs */
    public boolean isReady(long seq) {
        return slots[(int) seq & mask].readySeq == seq;
    }

    /**
     * Waits until execution {@code seq} is ready, idling like the graph's actors: {@link IdleKind#SPIN} spins,
     * {@link IdleKind#YIELD} yields, {@link IdleKind#BACKOFF} yields for up to 200 µs then parks, {@link IdleKind#PARK}
     * parks at once. A parked caller is unparked by the producer that completes the slot.
     *
     * @throws TimeoutException when {@code timeoutNanos} pass first
     * @throws RuntimeException the abort reason when {@code abort} reports one
     */
    public Slot await(long seq, long timeoutNanos, IdleKind idle, AbortCheck abort) throws TimeoutException {
        Slot s = slots[(int) seq & mask];
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
     * Claims the result of {@code seq} for one caller. Only the winner may read the values and then
     * {@link #release} the slot.
     *
     * @return false when another caller already claimed it (a second fetch of the same execution)
     */
    public boolean claim(long seq) {
        Slot s = slots[(int) seq & mask];
        long c = s.claimedSeq;
        return c < seq && CLAIMED.compareAndSet(s, c, seq);
    }

    /** Frees the slot of a claimed execution {@code seq} for execution {@code seq + capacity}. */
    public void release(long seq) {
        Slot s = slots[(int) seq & mask];
        for (int i = 0; i < outputs; i++) {
            s.values[i] = null;
        }
        s.releasedSeq = seq;
    }

    /** @return true when the result of {@code seq} was already claimed by a fetch */
    public boolean isClaimed(long seq) {
        return slots[(int) seq & mask].claimedSeq >= seq;
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
