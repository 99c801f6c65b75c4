package io.stoker.runtime.channel;

import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NoOpIdleStrategy;
import org.agrona.concurrent.YieldingIdleStrategy;

/**
 * How a thread waits when it has nothing to do: an actor with no ready work, or a caller waiting for a result.
 *
 * <p>Trade-off: {@link #SPIN} gives the lowest latency and burns a core per waiting thread (use it only when there
 * are more cores than busy threads); {@link #YIELD} shares cores at some latency cost; {@link #BACKOFF} yields for up to
 * 200 µs after its last work, then parks and is woken by producers (the default: near-spin latency while busy,
 * cores handed over when the host is oversubscribed, no CPU when idle);
 * {@link #PARK} parks at once (lowest CPU, wake-up latency of the OS scheduler).
 */
public enum IdleKind {
    SPIN, YIELD, BACKOFF, PARK;

    /** @return true when threads of this kind may park and must be woken by producers */
    public boolean parks() {
        return this == BACKOFF || this == PARK;
    }

    /** @return the Agrona strategy a {@link #SPIN} or {@link #YIELD} waiter repeats; the parking kinds use none */
    public IdleStrategy newActivePhaseStrategy() {
        switch (this) {
            case SPIN:
                return new BusySpinIdleStrategy();
            case YIELD:
                return YieldingIdleStrategy.INSTANCE;
            default:
                return NoOpIdleStrategy.INSTANCE;
        }
    }

    /** Parses a case-insensitive name, naming the option on failure. */
    public static IdleKind parse(String option, String value) {
        try {
            return IdleKind.valueOf(value.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + "=" + value + " is not an idle strategy; use one of spin, yield, backoff, park", e);
        }
    }
}
