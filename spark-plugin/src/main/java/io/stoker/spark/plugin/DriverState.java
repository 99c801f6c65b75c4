package io.stoker.spark.plugin;

import io.stoker.spark.StokerSparkPlugin;
import io.stoker.spark.config.StokerConf;
import org.apache.spark.SparkContext;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the driver plugin knows about one SparkContext: its validated conf, the session token its executors are
 * registered under, each executor's latest report, and the NCCL ids of groups that span executors. Registered per SparkContext (by identity) while the driver
 * plugin runs; a JVM may host several SparkContexts in turn, and the application id is not yet known when plugins
 * start.
 *
 * <p>Thread-safety: all methods may be called from any thread ({@code DriverPlugin.receive} is concurrent).
 */
public final class DriverState {
    /** extraConf key carrying the session token to executor plugins. */
    public static final String SESSION_KEY = "stoker.session";

    private static final Map<SparkContext, DriverState> BY_CONTEXT = Collections.synchronizedMap(new WeakHashMap<>());

    private final String session;
    private final StokerConf conf;
    private final ConcurrentHashMap<String, ExecutorReport> reports = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicReference<String> failure =
            new java.util.concurrent.atomic.AtomicReference<>();
    private final NcclIdRegistry ncclIds;

    DriverState(String session, StokerConf conf) {
        this.session = session;
        this.conf = conf;
        this.ncclIds = new NcclIdRegistry(session);
    }

    /** The NCCL ids of this application's groups that span executors. */
    NcclIdRegistry ncclIds() {
        return ncclIds;
    }

    /**
     * @return how many NCCL groups spanning executors have an id kept on the driver (published, and not yet fetched
     * by every rank nor closed)
     */
    public int ncclGroupsKept() {
        return ncclIds.size();
    }

    static void register(SparkContext sc, DriverState s) {
        BY_CONTEXT.put(sc, s);
    }

    static void unregister(DriverState s) {
        BY_CONTEXT.values().removeIf(v -> v == s);
    }

    /** @return the state of this SparkContext, or null when Stoker's driver plugin does not run in it */
    public static DriverState forContext(SparkContext sc) {
        return BY_CONTEXT.get(sc);
    }

    /**
     * @param what what needs the plugin, for the message (e.g. "llmMap")
     * @return the state of this SparkContext
     * @throws IllegalStateException naming {@code what}, the plugin class to add and the current spark.plugins
     */
    public static DriverState require(SparkContext sc, String what) {
        DriverState s = BY_CONTEXT.get(sc);
        if (s == null) {
            throw new IllegalStateException(what + " needs Stoker's plugin: start Spark with spark.plugins="
                    + StokerSparkPlugin.class.getName() + " (current spark.plugins=" + sc.conf().get("spark.plugins", "")
                    + ")");
        }
        return s;
    }

    /** @return the token executor plugins of this SparkContext register their runtimes under */
    public String session() {
        return session;
    }

    public StokerConf conf() {
        return conf;
    }

    /** @return true when this is the application's first failure (it is kept), false when one was already kept */
    boolean fail(String reason) {
        return failure.compareAndSet(null, reason);
    }

    /**
     * @return why Stoker failed this application (an executor could not start its eager actor pools), or null while
     * it has not; once set, every job of the application is cancelled with this reason
     */
    public String failure() {
        return failure.get();
    }

    /** Keeps the newer of the stored and the given report of its executor. */
    void update(ExecutorReport r) {
        reports.merge(r.executorId(), r, (old, neu) -> neu.sequence() >= old.sequence() ? neu : old);
    }

    /** @return the latest report per executor id, sorted by id (includes executors that have since died) */
    public Map<String, ExecutorReport> reports() {
        return new TreeMap<>(reports);
    }
}
