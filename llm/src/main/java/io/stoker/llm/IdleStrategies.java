package io.stoker.llm;

import io.stoker.runtime.channel.IdleKind;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.SleepingIdleStrategy;
import org.agrona.concurrent.YieldingIdleStrategy;

/**
 * The wait policy of the LLM engine's threads (its step loop, the CPU worker pool): an {@link IdleKind} mapped to an
 * Agrona {@link IdleStrategy}. Waiters that park are woken by {@code LockSupport.unpark} from whoever hands them work,
 * so a park is never the latency floor.
 *
 * <pre>
 *   SPIN     BusySpinIdleStrategy                       (a core per waiter)
 *   YIELD    YieldingIdleStrategy
 *   BACKOFF  BackoffIdleStrategy(spins, yields, 1 us, maxParkNanos)   (the default)
 *   PARK     SleepingIdleStrategy(maxParkNanos)
 * </pre>
 *
 * <p>The same mapping as the runtime's (gpu-runtime's channels and actors); kept here until the runtime exposes one.
 */
public final class IdleStrategies {
    /** Default longest park of an idle waiter before it re-checks on its own (producers wake it sooner). */
    public static final long DEFAULT_MAX_PARK_NANOS = 1_000_000;

    private IdleStrategies() {
    }

    /**
     * @param spins  busy spins before the back-off yields (BACKOFF only)
     * @param yields yields before it parks (BACKOFF only)
     */
    public static IdleStrategy of(IdleKind kind, long spins, long yields, long maxParkNanos) {
        switch (kind) {
            case SPIN:
                return new BusySpinIdleStrategy();
            case YIELD:
                return new YieldingIdleStrategy();
            case BACKOFF:
                return new BackoffIdleStrategy(spins, yields, Math.min(1_000, maxParkNanos), maxParkNanos);
            case PARK:
                return new SleepingIdleStrategy(maxParkNanos);
            default:
                throw new IllegalArgumentException("idle kind " + kind);
        }
    }

    /** {@link #of} with Agrona's default spin and yield counts (10, 5). */
    public static IdleStrategy of(IdleKind kind, long maxParkNanos) {
        return of(kind, BackoffIdleStrategy.DEFAULT_MAX_SPINS, BackoffIdleStrategy.DEFAULT_MAX_YIELDS, maxParkNanos);
    }
}
