package io.stoker.spark.plugin;

import io.stoker.spark.config.StokerConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;

/**
 * The driver part of Stoker's plugin. {@link #init} validates every {@code spark.stoker.*} option (an unknown key or
 * a malformed value fails SparkContext startup with a message naming it) and returns the validated settings, which
 * Spark hands to each executor plugin's {@code init}. {@link #receive} keeps each executor's latest
 * {@link ExecutorReport}, and fails the application when an executor reports that Stoker could not start on it
 * (see {@link ApplicationFailure}). It also keeps the NCCL ids of groups that span executors
 * ({@link NcclIdRegistry}, for {@link DriverNcclIdExchange}).
 *
 * <p>Threads: Spark calls {@code init} and {@code shutdown} on the thread creating/stopping the SparkContext, and
 * {@code receive} from RPC threads, concurrently.
 */
public final class StokerDriverPlugin implements DriverPlugin {
    private static final Logger LOG = LoggerFactory.getLogger(StokerDriverPlugin.class);

    private static final String EXTENSIONS_KEY = "spark.sql.extensions";

    private DriverState state;
    private ApplicationFailure failure;

    @Override
    public Map<String, String> init(SparkContext sc, PluginContext ctx) {
        Map<String, String> all = new HashMap<>();
        for (scala.Tuple2<String, String> kv : sc.conf().getAll()) {
            all.put(kv._1(), kv._2());
        }
        StokerConf conf = StokerConf.parse(all);
        addSqlExtensions(sc);
        state = new DriverState(java.util.UUID.randomUUID().toString(), conf);
        DriverState.register(sc, state);
        failure = new ApplicationFailure(sc, state);
        sc.addSparkListener(failure);
        LOG.info("Stoker driver plugin started (session {}): {} configured actor pool(s) {}", state.session(),
                conf.pools().size(), conf.pools().keySet());
        Map<String, String> extra = new HashMap<>(conf.toMap());
        extra.put(DriverState.SESSION_KEY, state.session());
        return extra;
    }

    /**
     * Adds Stoker's SQL extensions (the {@code llm_generate} function and the LLM operator) to
     * {@code spark.sql.extensions}, as spark-rapids does: SparkSession reads that static setting from the context's
     * configuration when the session is built, after this plugin's init. A user's own extensions are kept.
     */
    static void addSqlExtensions(SparkContext sc) {
        String name = io.stoker.spark.llm.StokerSqlExtensions.class.getName();
        String current = sc.conf().get(EXTENSIONS_KEY, "").trim();
        for (String e : current.split(",")) {
            if (e.trim().equals(name)) {
                return;
            }
        }
        sc.conf().set(EXTENSIONS_KEY, current.isEmpty() ? name : current + "," + name);
    }

    @Override
    public Object receive(Object message) {
        if (message instanceof ReportMessage) {
            ReportMessage m = (ReportMessage) message;
            DriverState s = state;
            if (s != null) {
                s.update(m.report());
            }
            return m.wantsReply() ? Boolean.TRUE : null;
        }
        if (message instanceof NcclIdMessage) {
            DriverState s = state;
            if (s == null) {
                throw new IllegalStateException("Stoker's driver plugin has not started; no NCCL ids yet");
            }
            return s.ncclIds().receive((NcclIdMessage) message);
        }
        if (message instanceof ExecutorStartFailure) {
            ApplicationFailure f = failure;
            if (f != null) {
                f.onStartFailure((ExecutorStartFailure) message);
            }
            return Boolean.TRUE;
        }
        throw new IllegalArgumentException("Stoker's driver plugin got an unknown message of "
                + (message == null ? "null" : message.getClass().getName()));
    }

    @Override
    public void shutdown() {
        DriverState s = state;
        if (s != null) {
            s.ncclIds().forgetAll();
            DriverState.unregister(s);
        }
    }
}
