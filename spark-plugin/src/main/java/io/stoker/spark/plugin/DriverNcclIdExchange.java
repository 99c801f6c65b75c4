package io.stoker.spark.plugin;

import io.stoker.runtime.comm.CollectiveException;
import io.stoker.runtime.comm.NcclIdExchange;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.plugin.PluginContext;

import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * The {@link NcclIdExchange} of groups whose ranks live on several executors: rank 0 publishes the group's id to the
 * driver plugin ({@code PluginContext.ask}), the other ranks ask the driver for it until it is there (polling every
 * few milliseconds at first, then every 100 ms; the driver never blocks an RPC thread), or fail after the timeout
 * with a message naming the group and the rank that did not publish. The driver keeps ids per
 * {@link NcclGroupKey} (this session, the group's name, {@link #withGeneration a generation}) and forgets them once
 * every rank has its id, on {@link #close(String)}, or when the application ends.
 *
 * <p>The executor plugin makes one per executor; a task finds it with {@link #current(String)}.
 *
 * <p>Thread-safety: immutable; {@link #exchange} is called concurrently, once per rank.
 */
public final class DriverNcclIdExchange implements NcclIdExchange {
    /** Sends one message to the driver plugin and returns its answer ({@code PluginContext::ask}). */
    @FunctionalInterface
    public interface DriverLink {
        Object ask(Object message) throws Exception;
    }

    private static final long FIRST_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
    private static final long MAX_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final ConcurrentHashMap<String, DriverNcclIdExchange> BY_EXECUTOR = new ConcurrentHashMap<>();

    private final DriverLink driver;
    private final String session;
    private final String executorId;
    private final long generation;

    DriverNcclIdExchange(DriverLink driver, String session, String executorId, long generation) {
        this.driver = Objects.requireNonNull(driver, "driver");
        this.session = Objects.requireNonNull(session, "session");
        this.executorId = Objects.requireNonNull(executorId, "executorId");
        if (generation < 0) {
            throw new IllegalArgumentException("generation " + generation + " is negative");
        }
        this.generation = generation;
    }

    /** @return the exchange of this executor's plugin, generation 0 */
    static DriverNcclIdExchange over(PluginContext ctx, String session) {
        return new DriverNcclIdExchange(ctx::ask, session, ctx.executorID(), 0);
    }

    static void register(DriverNcclIdExchange e) {
        BY_EXECUTOR.put(e.session + "/" + e.executorId, e);
    }

    static void unregister(DriverNcclIdExchange e) {
        BY_EXECUTOR.remove(e.session + "/" + e.executorId, e);
    }

    /**
     * @param session the driver plugin's session token ({@code DriverState.forContext(sc).session()}), shipped with
     *                the task
     * @return the exchange of the executor the calling task runs in
     * @throws IllegalStateException when Stoker's executor plugin does not run here
     */
    public static DriverNcclIdExchange current(String session) {
        SparkEnv env = SparkEnv.get();
        if (env == null) {
            throw new IllegalStateException("no SparkEnv: the driver's NCCL id exchange serves Spark tasks only");
        }
        DriverNcclIdExchange e = BY_EXECUTOR.get(session + "/" + env.executorId());
        if (e == null) {
            throw new IllegalStateException("Stoker's executor plugin is not running on executor " + env.executorId()
                    + " for session " + session + " (spark.plugins=io.stoker.spark.StokerSparkPlugin and"
                    + " spark.stoker.enabled=true), so it cannot exchange NCCL ids through the driver");
        }
        return e;
    }

    /** @return the same exchange for another life of its groups (a group formed again after a failure) */
    public DriverNcclIdExchange withGeneration(long generation) {
        return new DriverNcclIdExchange(driver, session, executorId, generation);
    }

    public long generation() {
        return generation;
    }

    /** @return the driver's key of the group named {@code group} */
    public NcclGroupKey key(String group) {
        return new NcclGroupKey(session, group, generation);
    }

    @Override
    public byte[] exchange(String group, int rank, int worldSize, Supplier<byte[]> newId, long timeoutMillis) {
        NcclGroupKey key = key(group);
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException(key + ": rank " + rank + " is outside 0.." + (worldSize - 1));
        }
        if (rank == 0) {
            byte[] id = newId.get();
            ask(key, rank, new NcclIdMessage.Publish(key, worldSize, id, executorId));
            return id;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        long pause = FIRST_POLL_NANOS;
        while (true) {
            Object reply = ask(key, rank, new NcclIdMessage.Fetch(key, rank, worldSize, executorId));
            byte[] id = ((NcclIdMessage.Reply) reply).id();
            if (id != null) {
                return id;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new CollectiveException(key + ": rank " + rank + " on executor " + executorId + " waited "
                        + timeoutMillis + " ms for rank 0 to publish the group's id through the driver; rank 0 never"
                        + " did. Every rank of the group must join it, under the same name and generation");
            }
            LockSupport.parkNanos(Math.min(pause, left));
            if (Thread.interrupted()) {
                Thread.currentThread().interrupt();
                throw new CollectiveException(key + ": rank " + rank + " was interrupted while waiting for rank 0's"
                        + " id");
            }
            pause = Math.min(pause * 2, MAX_POLL_NANOS);
        }
    }

    /** Tells the driver that the group closed, so it forgets the group's id if some rank never fetched it. */
    public void close(String group) {
        NcclGroupKey key = key(group);
        ask(key, -1, new NcclIdMessage.Close(key));
    }

    private Object ask(NcclGroupKey key, int rank, NcclIdMessage m) {
        try {
            return driver.ask(m);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CollectiveException(key + ": rank " + rank + " was interrupted while asking the driver", e);
        } catch (Exception e) {
            Throwable cause = e;
            while (cause.getCause() != null && cause.getCause() != cause) {
                cause = cause.getCause();
            }
            throw new CollectiveException(key + ": rank " + rank + " on executor " + executorId + " could not "
                    + (m instanceof NcclIdMessage.Publish ? "publish" : m instanceof NcclIdMessage.Fetch ? "fetch"
                    : "close") + " the group's id through the driver: " + cause.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "DriverNcclIdExchange[executor " + executorId + ", generation " + generation + "]";
    }
}
