package io.stoker.runtime.channel;

import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.YieldingIdleStrategy;

import java.util.concurrent.locks.LockSupport;

/**
 * The Agrona {@link IdleStrategy} of one {@link IdleKind}: every wait loop of the runtime idles through one of these
 * (made by {@link IdleKind#newIdleStrategy} or {@code WaitPolicy.newIdleStrategy()}).
 *
 * <ul>
 *   <li>{@link IdleKind#SPIN}: Agrona's {@link BusySpinIdleStrategy}.</li>
 *   <li>{@link IdleKind#YIELD}: Agrona's {@link YieldingIdleStrategy}.</li>
 *   <li>{@link IdleKind#BACKOFF}: yields until {@code yieldNanos} have passed since the last work, then parks for up to
 *       {@code maxParkNanos} at a time. The yield phase is timed, not counted: a yield costs from well under a
 *       microsecond on an idle core to a whole time slice on a busy one.</li>
 *   <li>{@link IdleKind#PARK}: parks for up to {@code maxParkNanos} at once.</li>
 * </ul>
 *
 * <p>A thread that producers can wake (an actor, a caller waiting for a result) must not park unannounced. It uses
 * {@link #idleUnlessParking()} instead of {@link #idle()}: when that returns true the thread announces that it
 * parks, re-checks its condition, and only then calls {@link #park}; producers publish first and then wake
 * announced threads, so no wake-up is lost (a Dekker-style handshake; see {@code Waiter}). Loops with nobody to
 * wake them simply call {@link #idle()}: they re-check at least every {@code maxParkNanos}.
 *
 * <p>Not thread-safe: one strategy per waiting thread (it holds that thread's back-off state).
 */
public final class StokerIdleStrategy implements IdleStrategy {
    private final IdleKind kind;
    private final long yieldNanos;
    private final long maxParkNanos;
    private final IdleStrategy active;
    private boolean idling;
    private long idleSinceNanos;

    StokerIdleStrategy(IdleKind kind, long yieldNanos, long maxParkNanos) {
        if (yieldNanos < 0) {
            throw new IllegalArgumentException("yieldNanos=" + yieldNanos + " must be >= 0");
        }
        if (maxParkNanos < 1_000) {
            throw new IllegalArgumentException("maxParkNanos=" + maxParkNanos + " must be >= 1000");
        }
        this.kind = kind;
        this.yieldNanos = yieldNanos;
        this.maxParkNanos = maxParkNanos;
        this.active = kind == IdleKind.SPIN ? new BusySpinIdleStrategy() : YieldingIdleStrategy.INSTANCE;
    }

    public IdleKind kind() {
        return kind;
    }

    public long maxParkNanos() {
        return maxParkNanos;
    }

    /** Idles after a pass that did {@code workCount} units of work; any work resets the back-off. */
    @Override
    public void idle(int workCount) {
        if (workCount > 0) {
            reset();
        } else {
            idle();
        }
    }

    /** Idles once: spins, yields or parks for up to {@code maxParkNanos}, per the kind and the back-off state. */
    @Override
    public void idle() {
        if (!idleUnlessParking()) {
            return;
        }
        park(this, maxParkNanos);
    }

    /**
     * Idles once without parking: spins or yields and returns false, or returns true without waiting when the
     * strategy has reached its parking phase. A caller that gets true announces itself to its wakers, re-checks its
     * condition and calls {@link #park}.
     */
    public boolean idleUnlessParking() {
        switch (kind) {
            case SPIN:
            case YIELD:
                active.idle();
                return false;
            case BACKOFF:
                if (!idling) {
                    idling = true;
                    idleSinceNanos = System.nanoTime();
                } else if (System.nanoTime() - idleSinceNanos >= yieldNanos) {
                    return true;
                }
                Thread.yield();
                return false;
            default:
                return true;
        }
    }

    /** Parks the calling thread for at most {@code min(nanos, maxParkNanos)}; a wake-up or interrupt ends it early. */
    public void park(Object blocker, long nanos) {
        LockSupport.parkNanos(blocker, Math.max(1, Math.min(nanos, maxParkNanos)));
    }

    /** Forgets the back-off: the next idle starts again with spinning or yielding. */
    @Override
    public void reset() {
        idling = false;
        active.reset();
    }

    @Override
    public String alias() {
        return "stoker-" + kind.name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public String toString() {
        return "StokerIdleStrategy[" + kind + ", yield=" + yieldNanos + " ns, maxPark=" + maxParkNanos + " ns]";
    }
}
