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

    private static final int SPIN_ROUNDS = 200;
    private static final int YIELD_ROUNDS = 50;

    private final IdleKind kind;
    private final org.agrona.concurrent.IdleStrategy activePhase;
    private final long maxParkNanos;
    private Thread owner;
    private int idleRounds;
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
     * Idles according to the kind after a pass that did {@code workDone} units of work.
     *
     * @param workDone work done in the last pass; positive resets the back-off
     * @param check    re-check run after announcing the park, to close the lost-wake-up window
     */
    public void idle(int workDone, WorkCheck check) {
        if (workDone > 0) {
            idleRounds = 0;
            activePhase.reset();
            return;
        }
        switch (kind) {
            case SPIN:
            case YIELD:
                activePhase.idle();
                return;
            case BACKOFF:
                if (idleRounds < SPIN_ROUNDS) {
                    idleRounds++;
                    Thread.onSpinWait();
                    return;
                }
                if (idleRounds < SPIN_ROUNDS + YIELD_ROUNDS) {
                    idleRounds++;
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
        if (!kind.parks()) {
            return;
        }
        VarHandle.fullFence();
        if ((boolean) PARKED.getVolatile(this)) {
            Thread t = owner;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }
}
