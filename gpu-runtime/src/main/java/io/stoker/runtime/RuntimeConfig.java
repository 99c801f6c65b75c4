package io.stoker.runtime;

import io.stoker.runtime.channel.IdleKind;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Settings of one {@link StokerRuntime}. Immutable; {@code with*} methods return copies.
 *
 * @param name               runtime name (appears in thread names and logs)
 * @param gpuIds             device ids this runtime may hand to actors (e.g. the addresses Spark assigned)
 * @param cpus               CPU slots actors may reserve in total
 * @param idle               how actors and callers wait ({@link WaitPolicy}: one policy for every wait loop)
 * @param yieldNanos         {@link IdleKind#BACKOFF}: how long a waiting thread yields after its last work before it
 *                           parks
 * @param maxParkNanos       longest park of an idle thread before it re-checks (producers wake it sooner)
 * @param actorStartTimeoutMillis how long {@code createActor} waits for the factory
 */
public record RuntimeConfig(String name, List<String> gpuIds, double cpus, IdleKind idle, long yieldNanos,
                            long maxParkNanos, long actorStartTimeoutMillis) {
    public RuntimeConfig {
        gpuIds = List.copyOf(gpuIds);
        if (!(cpus >= 0)) {
            throw new IllegalArgumentException("cpus=" + cpus + " must be >= 0");
        }
        if (yieldNanos < 0) {
            throw new IllegalArgumentException("yieldNanos=" + yieldNanos + " must be >= 0");
        }
        if (maxParkNanos < 1_000) {
            throw new IllegalArgumentException("maxParkNanos=" + maxParkNanos + " must be >= 1000");
        }
        if (actorStartTimeoutMillis < 1) {
            throw new IllegalArgumentException("actorStartTimeoutMillis=" + actorStartTimeoutMillis + " must be >= 1");
        }
        if (idle == null) {
            throw new IllegalArgumentException("idle must not be null");
        }
    }

    /**
     * No GPUs, CPU slots = available processors, back-off idling (yield 200 µs, then park for at most 1 ms at a time),
     * 10 min actor start.
     */
    public static RuntimeConfig defaults() {
        WaitPolicy w = WaitPolicy.defaults();
        return new RuntimeConfig("stoker", List.of(), Runtime.getRuntime().availableProcessors(), w.kind(),
                w.yieldNanos(), w.maxParkNanos(), TimeUnit.MINUTES.toMillis(10));
    }

    /** @return the wait policy every wait loop of this runtime uses */
    public WaitPolicy waitPolicy() {
        return WaitPolicy.of(this);
    }

    public RuntimeConfig withName(String n) {
        return new RuntimeConfig(n, gpuIds, cpus, idle, yieldNanos, maxParkNanos, actorStartTimeoutMillis);
    }

    public RuntimeConfig withGpuIds(List<String> ids) {
        return new RuntimeConfig(name, ids, cpus, idle, yieldNanos, maxParkNanos, actorStartTimeoutMillis);
    }

    public RuntimeConfig withCpus(double c) {
        return new RuntimeConfig(name, gpuIds, c, idle, yieldNanos, maxParkNanos, actorStartTimeoutMillis);
    }

    public RuntimeConfig withIdle(IdleKind k) {
        return new RuntimeConfig(name, gpuIds, cpus, k, yieldNanos, maxParkNanos, actorStartTimeoutMillis);
    }

    public RuntimeConfig withYieldNanos(long n) {
        return new RuntimeConfig(name, gpuIds, cpus, idle, n, maxParkNanos, actorStartTimeoutMillis);
    }

    public RuntimeConfig withMaxParkNanos(long n) {
        return new RuntimeConfig(name, gpuIds, cpus, idle, yieldNanos, n, actorStartTimeoutMillis);
    }

    public RuntimeConfig withActorStartTimeoutMillis(long ms) {
        return new RuntimeConfig(name, gpuIds, cpus, idle, yieldNanos, maxParkNanos, ms);
    }
}
