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
 * @param idle               how actor threads wait for work
 * @param maxParkNanos       longest park of an idle actor before it re-checks (producers wake it sooner)
 * @param actorStartTimeoutMillis how long {@code createActor} waits for the factory
 */
public record RuntimeConfig(String name, List<String> gpuIds, double cpus, IdleKind idle, long maxParkNanos,
                            long actorStartTimeoutMillis) {
    public RuntimeConfig {
        gpuIds = List.copyOf(gpuIds);
        if (!(cpus >= 0)) {
            throw new IllegalArgumentException("cpus=" + cpus + " must be >= 0");
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

    /** No GPUs, CPU slots = available processors, back-off idling with 1 ms max park, 10 min actor start. */
    public static RuntimeConfig defaults() {
        return new RuntimeConfig("stoker", List.of(), Runtime.getRuntime().availableProcessors(), IdleKind.BACKOFF,
                TimeUnit.MILLISECONDS.toNanos(1), TimeUnit.MINUTES.toMillis(10));
    }

    public RuntimeConfig withName(String n) {
        return new RuntimeConfig(n, gpuIds, cpus, idle, maxParkNanos, actorStartTimeoutMillis);
    }

    public RuntimeConfig withGpuIds(List<String> ids) {
        return new RuntimeConfig(name, ids, cpus, idle, maxParkNanos, actorStartTimeoutMillis);
    }

    public RuntimeConfig withCpus(double c) {
        return new RuntimeConfig(name, gpuIds, c, idle, maxParkNanos, actorStartTimeoutMillis);
    }

    public RuntimeConfig withIdle(IdleKind k) {
        return new RuntimeConfig(name, gpuIds, cpus, k, maxParkNanos, actorStartTimeoutMillis);
    }

    public RuntimeConfig withMaxParkNanos(long n) {
        return new RuntimeConfig(name, gpuIds, cpus, idle, n, actorStartTimeoutMillis);
    }

    public RuntimeConfig withActorStartTimeoutMillis(long ms) {
        return new RuntimeConfig(name, gpuIds, cpus, idle, maxParkNanos, ms);
    }
}
