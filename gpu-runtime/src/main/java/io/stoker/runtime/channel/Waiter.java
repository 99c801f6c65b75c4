package io.stoker.runtime.channel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The wait/wake protocol between one consuming thread and any number of producers, without lost wake-ups.
 *
 * <p>The consumer calls {@link #idle(int, WorkCheck)} after each pass over its inputs with the work it did. When it
 * decides to park it first publishes {@code parked = true} (volatile store), re-checks for work, and only then parks.
 * A producer, after publishing its value, calls {@link #wake()}: a full fence, then a volatile read of
 * {@code parked}. The two StoreLoad fences (Dekker) guarantee that either the consumer's re-check sees the value or
 * the producer sees {@code parked} and unparks it. A bounded park period is a second safety net.
 *
 * <p>Thread-safety: {@link #idle} is called by the owning thread only; {@link #wake()} by any thread.
 */
public final class Waiter {
    /** Re-checks for work just before parking. */
    @FunctionalInterface
    public interface WorkCheck {
        boolean hasWork();
    }

    private static final VarHandle PARKED;

    static {
        try {
            PARKED = MethodHandles.lookup().findVarHandle(Waiter.class, "parked", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Back-off: yield until {@link #YIELD_NANOS} passed since the last work, then park. */
    private static final long YIELD_NANOS = 200_000;

    private final IdleKind kind;
    private final org.agrona.concurrent.IdleStrategy activePhase;
    private final long maxParkNanos;
    private Thread owner;
    private int idleRounds;
    private long idleSince;
    @SuppressWarnings("unused") // accessed through PARKED
    private volatile boolean parked;

    public Waiter(IdleKind kind, long maxParkNanos) {
        this.kind = kind;
        this.activePhase = kind.newActivePhaseStrategy();
        this.maxParkNanos = maxParkNanos;
    }

    /** Binds the waiter to the thread that will call {@link #idle}. */
    public void bindOwner(Thread thread) {
        this.owner = thread;
    }

    public IdleKind kind() {
        return kind;
    }

    /**
     * Idles after a pass that did {@code workDone} units of work. A hot owner (one that polls channels of installed
     * graphs) idles according to the kind; a cold one (only a mailbox to serve) parks until {@link #wake()}, like a
     * classic RPC worker.
     *
     * @param workDone work done in the last pass; positive resets the back-off
     * @param hot      whether the owner polls channels that producers do not always signal
     * @param check    re-check run after announcing the park, to close the lost-wake-up window
     */
    public void idle(int workDone, boolean hot, WorkCheck check) {
        if (workDone > 0) {
            idleRounds = 0;
            activePhase.reset();
            return;
        }
        if (!hot) {
            park(check);
            return;
        }
        switch (kind) {
            case SPIN:
            case YIELD:
                activePhase.idle();
                return;
            case BACKOFF:
                // Yield rather than spin: on an oversubscribed host a yield hands the core to the thread that has
                // work (often the producer this thread waits for); with spare cores it returns at once and costs
                // about as little as a spin. After YIELD_NANOS without work, park until a producer wakes us.
                if (idleRounds++ == 0) {
                    idleSince = System.nanoTime();
                }
                if (System.nanoTime() - idleSince < YIELD_NANOS) {
                    Thread.yield();
                    return;
                }
                park(check);
                return;
            default:
                park(check);
        }
    }

    private void park(WorkCheck check) {
        PARKED.setVolatile(this, true);
        if (!check.hasWork()) {
            LockSupport.parkNanos(this, maxParkNanos);
        }
        PARKED.setVolatile(this, false);
    }

    /** Wakes the owner if it is parked or about to park; cheap when it is not. Any thread may call it. */
    public void wake() {
        VarHandle.fullFence();
        if ((boolean) PARKED.getVolatile(this)) {
            Thread t = owner;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }
}
