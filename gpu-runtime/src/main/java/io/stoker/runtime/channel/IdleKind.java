package io.stoker.runtime.channel;

/**
 * How a thread waits when it has nothing to do: an actor with no ready work, or a caller waiting for a result.
 *
 * <p>Trade-off: {@link #SPIN} gives the lowest latency and burns a core per waiting thread (use it only when there
 * are more cores than busy threads); {@link #YIELD} shares cores at some latency cost; {@link #BACKOFF} yields for a
 * short window (200 µs by default) after its last work, then parks and is woken by producers (the default: near-spin
 * latency while busy, cores handed over when the host is oversubscribed, no CPU when idle); {@link #PARK} parks at
 * once (lowest CPU, wake-up latency of the OS scheduler).
 *
 * <p>{@link #newIdleStrategy} maps a kind to the Agrona {@link org.agrona.concurrent.IdleStrategy} that every wait
 * loop of the runtime uses; {@code WaitPolicy} (from {@code RuntimeConfig}) fills in the timings.
 */
public enum IdleKind {
    SPIN, YIELD, BACKOFF, PARK;

    /** @return true when threads of this kind may park and must be woken by producers */
    public boolean parks() {
        return this == BACKOFF || this == PARK;
    }

    /**
     * @param yieldNanos   {@link #BACKOFF}: how long to yield after the last work before parking
     * @param maxParkNanos longest single park ({@link #BACKOFF}, {@link #PARK}); wakers may end it sooner
     * @return a new strategy for one waiting thread
     */
    public StokerIdleStrategy newIdleStrategy(long yieldNanos, long maxParkNanos) {
        return new StokerIdleStrategy(this, yieldNanos, maxParkNanos);
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
