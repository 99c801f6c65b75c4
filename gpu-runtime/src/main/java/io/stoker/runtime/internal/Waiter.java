package io.stoker.runtime.internal;

import io.stoker.runtime.WaitPolicy;
import io.stoker.runtime.channel.IdleKind;
import io.stoker.runtime.channel.StokerIdleStrategy;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The wait/wake protocol between one consuming thread and any number of producers, without lost wake-ups.
 *
 * <p>The consumer calls {@link #idle(int, boolean, WorkCheck)} after each pass over its inputs with the work it did;
 * it idles through its {@link WaitPolicy}'s strategy. When the strategy reaches its parking phase the consumer first
 * publishes {@code parked = true} (volatile store), re-checks for work, and only then parks. A producer, after
 * publishing its value, calls {@link #wake()}: a full fence, then a volatile read of {@code parked}. The two StoreLoad
 * fences (Dekker) guarantee that either the consumer's re-check sees the value or the producer sees {@code parked}
 * and unparks it. A bounded park period ({@link WaitPolicy#maxParkNanos()}) is a second safety net.
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

    private final WaitPolicy policy;
    private final StokerIdleStrategy strategy;
    private Thread owner;
    @SuppressWarnings("unused") // accessed through PARKED
    private volatile boolean parked;

    public Waiter(WaitPolicy policy) {
        this.policy = policy;
        this.strategy = policy.newIdleStrategy();
    }

    /** Binds the waiter to the thread that will call {@link #idle}. */
    public void bindOwner(Thread thread) {
        this.owner = thread;
    }

    public IdleKind kind() {
        return policy.kind();
    }

    /**
     * Idles after a pass that did {@code workDone} units of work. A hot owner (one that polls channels of installed
     * graphs) idles through the policy's strategy; a cold one (only a mailbox to serve) parks until {@link #wake()},
     * like a classic RPC worker.
     *
     * @param workDone work done in the last pass; positive resets the back-off
     * @param hot      whether the owner polls channels that producers do not always signal
     * @param check    re-check run after announcing the park, to close the lost-wake-up window
     */
    public void idle(int workDone, boolean hot, WorkCheck check) {
        if (workDone > 0) {
            strategy.reset();
            return;
        }
        if (!hot || strategy.idleUnlessParking()) {
            park(check);
        }
    }

    private void park(WorkCheck check) {
        PARKED.setVolatile(this, true);
        if (!check.hasWork()) {
            strategy.park(this, policy.maxParkNanos());
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
