package io.stoker.llm;

import io.stoker.runtime.channel.IdleKind;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.SleepingIdleStrategy;
import org.agrona.concurrent.YieldingIdleStrategy;

/**
 * The CPU worker pool's shape of the wait policy: an {@link IdleKind} mapped to an Agrona {@link IdleStrategy} with
 * counted spins and yields before parking. The engine loop uses the runtime's {@link io.stoker.runtime.WaitPolicy}
 * itself; the pool keeps this shape because its waits are microseconds apart within a forward pass, and measured on a
 * busy 2-core host, a worker that yields (the runtime's BACKOFF yields for 200 µs) starts a published job late while a
 * spinning-then-parked one is unparked at once. Waiters that park are woken by {@code LockSupport.unpark} from whoever
 * hands them work, so a park is never the latency floor.
 *
 * <pre>
 *   SPIN     BusySpinIdleStrategy                       (a core per waiter)
 *   YIELD    YieldingIdleStrategy
 *   BACKOFF  BackoffIdleStrategy(spins, yields, 1 us, maxParkNanos)   (the default)
 *   PARK     SleepingIdleStrategy(maxParkNanos)
 * </pre>
 *
 */
public final class IdleStrategies {
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
}
