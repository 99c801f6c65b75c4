package io.stoker.spark.plugin;

import io.stoker.spark.artifact.ArtifactCache;
import io.stoker.spark.config.StokerConf;
import io.stoker.spark.executor.ExecutorRuntime;
import io.stoker.spark.executor.ExecutorRuntimes;
import org.apache.spark.SparkFiles;
import org.apache.spark.TaskFailedReason;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.resource.ResourceInformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The executor part of Stoker's plugin. {@link #init} starts one {@link ExecutorRuntime} for this executor, pinned to
 * the GPU addresses Spark assigned it ({@code PluginContext.resources()}), starts the eager actor pools, and sends a
 * first report to the driver. When an eager pool fails to start it reports the failure to the driver (which then
 * fails the application, see {@code ApplicationFailure}) and fails the executor. After each task that changed Stoker's metrics it sends a fresh report with
 * {@code ask}, before the task's result reaches the driver, so a finished job's reports are complete.
 * It also offers tasks the NCCL id exchange through the driver ({@link DriverNcclIdExchange#current}).
 * {@link #shutdown} closes the runtime.
 *
 * <p>State lives in this instance (keyed by application and executor id in {@link ExecutorRuntimes}), never only
 * in statics: in local mode the executor lives in the driver JVM and a later SparkContext starts a new one.
 *
 * <p>Threads: {@code init} and {@code shutdown} run on the executor's startup/shutdown thread; the task hooks run
 * on task threads, concurrently.
 */
public final class StokerExecutorPlugin implements ExecutorPlugin {
    private static final Logger LOG = LoggerFactory.getLogger(StokerExecutorPlugin.class);

    private PluginContext ctx;
    private ExecutorRuntime runtime;
    private DriverNcclIdExchange ncclIds;
    private volatile long reportedVersion = -1;

    @Override
    public void init(PluginContext ctx, Map<String, String> extraConf) {
        this.ctx = ctx;
        Map<String, String> settings = new HashMap<>();
        for (scala.Tuple2<String, String> kv : ctx.conf().getAll()) {
            if (kv._1().startsWith("spark.hadoop.")) {
                settings.put(kv._1(), kv._2());
            }
        }
        settings.putAll(extraConf);
        Map<String, String> stoker = new HashMap<>(extraConf);
        String session = stoker.remove(DriverState.SESSION_KEY);
        if (session == null) {
            throw new IllegalStateException("Stoker's executor plugin got no session from the driver plugin: both"
                    + " must be the same Stoker version (spark.plugins=io.stoker.spark.StokerSparkPlugin)");
        }
        StokerConf conf = StokerConf.parse(stoker);
        if (!conf.enabled()) {
            LOG.info("Stoker is disabled (spark.stoker.enabled=false) on executor {}", ctx.executorID());
            return;
        }
        ResourceInformation gpus = ctx.resources().get(conf.gpuResource());
        List<String> addresses = gpus == null ? List.of() : Arrays.asList(gpus.addresses());
        String appId = ctx.conf().get("spark.app.id", "");
        Path artifactsDir = Path.of(SparkFiles.getRootDirectory(), "stoker-artifacts");
        ExecutorRuntime rt = null;
        try {
            rt = new ExecutorRuntime(session, appId, ctx.executorID(), hostname(ctx), conf, addresses,
                    ctx.metricRegistry(), ArtifactCache.hadoopConfiguration(settings), artifactsDir);
            rt.startEagerPools();
        } catch (RuntimeException e) {
            if (rt != null) {
                rt.close();
            }
            reportStartFailure(ctx, e);
            throw e;
        }
        runtime = rt;
        ExecutorRuntimes.register(rt);
        ncclIds = DriverNcclIdExchange.over(ctx, session);
        DriverNcclIdExchange.register(ncclIds);
        LOG.info("Stoker runtime started on executor {} (session {}), GPUs {}", ctx.executorID(), session, addresses);
        report(false);
    }

    /**
     * Tells the driver plugin, before this executor fails, that Stoker could not start here, so it fails the
     * application with this cause instead of waiting for replacement executors that fail the same way. Not in
     * local mode: there the executor lives in the driver JVM and the exception fails SparkContext creation itself.
     */
    private static void reportStartFailure(PluginContext ctx, RuntimeException e) {
        if ("driver".equals(ctx.executorID())) { // SparkContext.DRIVER_IDENTIFIER: local mode
            return;
        }
        try {
            ctx.ask(new ExecutorStartFailure(ctx.executorID(), hostname(ctx), e.getMessage()));
        } catch (Exception askFailed) {
            LOG.warn("Stoker could not tell the driver why executor {} fails to start: {}", ctx.executorID(),
                    askFailed.toString());
        }
    }

    /** PluginContext.hostname() throws in executor JVMs of Spark 4.0 (their RpcEnv has no address). */
    private static String hostname(PluginContext ctx) {
        try {
            return ctx.hostname();
        } catch (RuntimeException e) {
            org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
            if (env != null && env.blockManager() != null && env.blockManager().blockManagerId() != null) {
                return env.blockManager().blockManagerId().host();
            }
            try {
                return java.net.InetAddress.getLocalHost().getHostName();
            } catch (java.net.UnknownHostException u) {
                return "unknown";
            }
        }
    }

    @Override
    public void onTaskSucceeded() {
        reportIfChanged();
    }

    @Override
    public void onTaskFailed(TaskFailedReason failureReason) {
        reportIfChanged();
    }

    private void reportIfChanged() {
        ExecutorRuntime rt = runtime;
        if (rt == null || !rt.conf().reportToDriver()) {
            return;
        }
        long v = rt.metrics().version();
        if (v != reportedVersion) {
            reportedVersion = v;
            report(true);
        }
    }

    private void report(boolean ask) {
        ExecutorRuntime rt = runtime;
        if (rt == null || !rt.conf().reportToDriver()) {
            return;
        }
        try {
            ReportMessage m = new ReportMessage(rt.report(), ask);
            if (ask) {
                ctx.ask(m);
            } else {
                ctx.send(m);
            }
        } catch (Exception e) {
            LOG.warn("Stoker could not report executor {}'s metrics to the driver: {}", rt.executorId(), e.toString());
        }
    }

    @Override
    public void shutdown() {
        DriverNcclIdExchange ids = ncclIds;
        ncclIds = null;
        if (ids != null) {
            DriverNcclIdExchange.unregister(ids);
        }
        ExecutorRuntime rt = runtime;
        runtime = null;
        if (rt != null) {
            ExecutorRuntimes.unregister(rt);
            rt.close();
        }
    }
}
