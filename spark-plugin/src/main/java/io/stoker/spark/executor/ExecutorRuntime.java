package io.stoker.spark.executor;

import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.StokerRuntime;
import io.stoker.spark.actor.ActorPoolSpec;
import io.stoker.spark.artifact.ArtifactCache;
import io.stoker.spark.config.StokerConf;
import io.stoker.spark.graph.GraphSpec;
import io.stoker.spark.metrics.StokerMetrics;
import io.stoker.spark.plugin.ExecutorReport;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;

/**
 * Everything Stoker holds inside one Spark executor: the compiled-graph runtime (with the GPU addresses Spark
 * assigned), the executor's one Arrow root allocator, the actor pools, the compiled graphs, the artifact cache and
 * the metrics. Created by the executor plugin's {@code init}, closed by its {@code shutdown}; tasks reach it
 * through {@link ExecutorRuntimes#current()}.
 *
 * <p>Pools and graphs are created once, at first request; concurrent requests wait for that one creation. A
 * failed creation is not remembered: the next request (a Spark task retry) tries again.
 *
 * <p>Thread-safety: all methods may be called from any thread.
 */
public final class ExecutorRuntime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutorRuntime.class);

    private final String session;
    private final String appId;
    private final String executorId;
    private final String host;
    private final StokerConf conf;
    private final List<String> gpuAddresses;
    private final RootAllocator allocator;
    private final StokerRuntime runtime;
    private final StokerMetrics metrics;
    private final ArtifactCache artifacts;
    private final ConcurrentHashMap<String, CompletableFuture<ActorPool>> pools = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, CompletableFuture<GraphReplicas>> graphs = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, CompletableFuture<AutoCloseable>> services = new ConcurrentHashMap<>();
    private final List<String> poolOrder = java.util.Collections.synchronizedList(new ArrayList<>());
    private final java.util.concurrent.atomic.AtomicLong reportSeq = new java.util.concurrent.atomic.AtomicLong();
    private volatile boolean closed;

    /**
     * @param registry     the plugin context's metric registry
     * @param hadoopConf   Hadoop settings for artifact URIs
     * @param artifactsDir where fetched artifacts go (when the conf names none)
     */
    public ExecutorRuntime(String session, String appId, String executorId, String host, StokerConf conf, List<String> gpuAddresses,
                           com.codahale.metrics.MetricRegistry registry, org.apache.hadoop.conf.Configuration hadoopConf,
                           Path artifactsDir) {
        this.session = session;
        this.appId = appId;
        this.executorId = executorId;
        this.host = host;
        this.conf = conf;
        this.gpuAddresses = List.copyOf(gpuAddresses);
        this.allocator = new RootAllocator(conf.memoryLimitBytes());
        this.runtime = StokerRuntime.create(RuntimeConfig.defaults()
                .withName("stoker-executor-" + executorId)
                .withGpuIds(this.gpuAddresses)
                .withCpus(conf.effectiveRuntimeCpus())
                .withIdle(conf.idle())
                .withActorStartTimeoutMillis(conf.actorStartTimeoutMillis()));
        this.metrics = new StokerMetrics(registry, allocator::getAllocatedMemory, this::actorsAlive);
        Path dir = conf.artifactsCacheDir().isEmpty() ? artifactsDir : Path.of(conf.artifactsCacheDir());
        this.artifacts = new ArtifactCache(dir, hadoopConf, metrics);
    }

    /** Starts the pools marked eager in configuration; throws the first failure. */
    public void startEagerPools() {
        for (ActorPoolSpec s : conf.pools().values()) {
            if (s.eager()) {
                pool(s.name(), null, null);
            }
        }
    }

    /**
     * @param name     pool name
     * @param declared the pool as a graph spec declares it in code, or null
     * @param forGraph the graph asking (for messages), or null
     * @return the started pool (started now if needed)
     */
    ActorPool pool(String name, ActorPoolSpec declared, GraphSpec forGraph) {
        ActorPoolSpec configured = conf.pools().get(name);
        String who = forGraph != null ? "graph spec '" + forGraph.name() + "'" : "executor start";
        if (configured != null && declared != null && !configured.equals(declared)) {
            throw new GraphSpecException(who + " declares actor pool '" + name + "' as " + declared + ", but the"
                    + " configuration declares it as " + configured + "; rename one of them");
        }
        ActorPoolSpec spec = configured != null ? configured : declared;
        if (spec == null) {
            throw new GraphSpecException(who + " uses actor pool '" + name + "', which is neither configured"
                    + " (spark.stoker.pool." + name + ".class) nor declared in code (GraphSpec.Builder.pool); configured"
                    + " pools: " + conf.pools().keySet());
        }
        CompletableFuture<ActorPool> f = startOnce(pools, name, () -> {
            checkOpen();
            ActorPool p = ActorPool.start(spec, this);
            poolOrder.add(name);
            return p;
        });
        ActorPool p = await(f, "actor pool '" + name + "'");
        if (!p.spec().equals(spec)) {
            throw new GraphSpecException(who + " declares actor pool '" + name + "' as " + spec + ", but executor "
                    + executorId + " already runs it as " + p.spec() + "; use another pool name");
        }
        return p;
    }

    /** @return the executor's compiled replicas of {@code spec}, compiling them at the first request */
    public GraphReplicas graph(GraphSpec spec) {
        while (true) {
            CompletableFuture<GraphReplicas> f = startOnce(graphs, spec.key(), () -> {
                checkOpen();
                return GraphReplicas.compile(spec, this);
            });
            GraphReplicas g = await(f, "graph '" + spec.name() + "'");
            if (!g.isBroken()) {
                return g;
            }
            LOG.warn("graph '{}' on executor {} lost an actor; compiling it again", spec.name(), executorId);
            if (graphs.remove(spec.key(), f)) {
                g.close();
            }
        }
    }

    /**
     * A long-lived executor service (e.g. an LLM processor: model, engines, their actors and graphs), created once
     * per key at the first request; concurrent requests wait for that one creation, a failed creation is forgotten.
     * A service that {@code healthy} rejects (an engine died) is closed and created again. Services are closed
     * before the pools and the runtime at executor shutdown.
     */
    @SuppressWarnings("unchecked")
    public <T extends AutoCloseable> T service(String key, java.util.function.Supplier<T> create,
                                               java.util.function.Predicate<T> healthy) {
        while (true) {
            CompletableFuture<AutoCloseable> f = startOnce(services, key, () -> {
                checkOpen();
                return create.get();
            });
            T s = (T) await(f, "service '" + key + "'");
            if (healthy.test(s)) {
                return s;
            }
            if (services.remove(key, f)) {
                LOG.warn("service '{}' on executor {} is broken; building it again", key, executorId);
                closeQuietly(s);
            }
        }
    }

    /** Closes and forgets the service if {@code s} is still the one registered under {@code key}. */
    public void discardService(String key, AutoCloseable s) {
        CompletableFuture<AutoCloseable> f = services.get(key);
        if (f != null && f.getNow(null) == s && services.remove(key, f)) {
            closeQuietly(s);
        }
    }

    /** @return the services started so far (for metrics) */
    public List<AutoCloseable> services() {
        List<AutoCloseable> out = new ArrayList<>();
        for (CompletableFuture<AutoCloseable> f : services.values()) {
            AutoCloseable s = f.getNow(null);
            if (s != null) {
                out.add(s);
            }
        }
        return out;
    }

    private void closeQuietly(AutoCloseable s) {
        try {
            s.close();
        } catch (Exception e) {
            LOG.warn("closing a Stoker service on executor {} failed: {}", executorId, e.toString());
        }
    }

    /** Runs {@code create} once per key; concurrent callers share its future; a failure is forgotten. */
    private static <T> CompletableFuture<T> startOnce(ConcurrentHashMap<String, CompletableFuture<T>> map, String key,
                                                      java.util.function.Supplier<T> create) {
        CompletableFuture<T> mine = new CompletableFuture<>();
        CompletableFuture<T> f = map.putIfAbsent(key, mine);
        if (f != null) {
            return f;
        }
        try {
            mine.complete(create.get());
        } catch (RuntimeException | Error e) {
            map.remove(key, mine);
            mine.completeExceptionally(e);
        }
        return mine;
    }

    private static <T> T await(CompletableFuture<T> f, String what) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + what, e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException) {
                throw (RuntimeException) c;
            }
            throw new IllegalStateException(what + " failed: " + c, c);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("Stoker's runtime on executor " + executorId + " is shut down");
        }
    }

    /** @return a named child of the executor's root allocator for one task's batches; the task closes it */
    public BufferAllocator newTaskAllocator(String name) {
        return allocator.newChildAllocator(name, 0, Long.MAX_VALUE);
    }

    /** @return the driver plugin's session token this runtime is registered under */
    public String session() {
        return session;
    }

    /** @return the application id ("" when Spark had not assigned it yet at executor start) */
    public String appId() {
        if (appId.isEmpty()) {
            org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
            return env == null ? "" : env.conf().get("spark.app.id", "");
        }
        return appId;
    }

    public String executorId() {
        return executorId;
    }

    public StokerConf conf() {
        return conf;
    }

    /** @return GPU addresses Spark assigned this executor (empty without GPUs) */
    public List<String> gpuAddresses() {
        return gpuAddresses;
    }

    public StokerRuntime runtime() {
        return runtime;
    }

    public BufferAllocator allocator() {
        return allocator;
    }

    public StokerMetrics metrics() {
        return metrics;
    }

    public ArtifactCache artifacts() {
        return artifacts;
    }

    private long actorsAlive() {
        long n = 0;
        for (CompletableFuture<ActorPool> f : pools.values()) {
            ActorPool p = f.getNow(null);
            if (p != null) {
                n += p.alive();
            }
        }
        return n;
    }

    /** @return a snapshot for the driver: placement, pools and metric values */
    public synchronized ExecutorReport report() {
        Map<String, List<String>> actors = new LinkedHashMap<>();
        Map<String, Integer> poolSizes = new LinkedHashMap<>();
        Map<String, Long> inits = new LinkedHashMap<>();
        for (String name : new ArrayList<>(poolOrder)) {
            CompletableFuture<ActorPool> f = pools.get(name);
            ActorPool p = f == null ? null : f.getNow(null);
            if (p != null) {
                actors.putAll(p.gpuAssignments());
                poolSizes.put(name, p.size());
                inits.put(name, p.constructions());
            }
        }
        return new ExecutorReport(appId, executorId, host, ProcessHandle.current().pid(), gpuAddresses, actors,
                poolSizes, inits, metrics.snapshot(), System.currentTimeMillis(), reportSeq.incrementAndGet());
    }

    /** Closes graphs, then pools in reverse start order, then the runtime, then the allocator. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (CompletableFuture<GraphReplicas> f : graphs.values()) {
            GraphReplicas g = f.getNow(null);
            if (g != null) {
                g.close();
            }
        }
        graphs.clear();
        for (AutoCloseable s : services()) {
            closeQuietly(s);
        }
        services.clear();
        List<String> order = new ArrayList<>(poolOrder);
        for (int i = order.size() - 1; i >= 0; i--) {
            CompletableFuture<ActorPool> f = pools.get(order.get(i));
            ActorPool p = f == null ? null : f.getNow(null);
            if (p != null) {
                p.close();
            }
        }
        pools.clear();
        runtime.close();
        try {
            allocator.close();
        } catch (IllegalStateException e) {
            LOG.error("Stoker's Arrow allocator on executor {} still holds memory at shutdown: {}", executorId,
                    e.getMessage());
        }
        LOG.info("Stoker runtime on executor {} stopped", executorId);
    }
}
