package io.stoker.runtime;

import io.stoker.runtime.channel.IdleKind;
import io.stoker.runtime.channel.StokerIdleStrategy;

import java.util.concurrent.TimeUnit;

/**
 * The one wait policy of a runtime: which {@link IdleKind} waiting threads use and its timings, taken from
 * {@link RuntimeConfig}. Every wait loop (actors between tasks, callers waiting for results or capacity, ranks
 * waiting for collective peers, and engine loops built on the runtime) idles through a strategy made here.
 *
 * <pre>{@code
 * IdleStrategy idle = runtime.config().waitPolicy().newIdleStrategy();
 * while (running) {
 *     idle.idle(doWork());
 * }
 * }</pre>
 *
 * @param kind         how to wait
 * @param yieldNanos   {@link IdleKind#BACKOFF}: how long to yield after the last work before parking
 * @param maxParkNanos longest single park; a thread nobody wakes re-checks at least this often
 */
public record WaitPolicy(IdleKind kind, long yieldNanos, long maxParkNanos) {
    public WaitPolicy {
        if (kind == null) {
            throw new IllegalArgumentException("idle kind must not be null");
        }
        if (yieldNanos < 0) {
            throw new IllegalArgumentException("yieldNanos=" + yieldNanos + " must be >= 0");
        }
        if (maxParkNanos < 1_000) {
            throw new IllegalArgumentException("maxParkNanos=" + maxParkNanos + " must be >= 1000");
        }
    }

    /** {@link IdleKind#BACKOFF}, yielding for 200 µs, parking for at most 1 ms (the runtime's defaults). */
    public static WaitPolicy defaults() {
        return new WaitPolicy(IdleKind.BACKOFF, TimeUnit.MICROSECONDS.toNanos(200), TimeUnit.MILLISECONDS.toNanos(1));
    }

    /** @return the policy of {@code config} */
    public static WaitPolicy of(RuntimeConfig config) {
        return new WaitPolicy(config.idle(), config.yieldNanos(), config.maxParkNanos());
    }

    /** @return this policy with another kind and the same timings */
    public WaitPolicy withKind(IdleKind k) {
        return new WaitPolicy(k, yieldNanos, maxParkNanos);
    }

    /** @return a new Agrona idle strategy for one waiting thread (strategies hold per-thread state) */
    public StokerIdleStrategy newIdleStrategy() {
        return kind.newIdleStrategy(yieldNanos, maxParkNanos);
    }
}
