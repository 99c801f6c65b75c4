package io.stoker.runtime;

import io.stoker.runtime.actor.ActorContext;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.actor.Resources;
import io.stoker.runtime.graph.CompiledGraph;
import io.stoker.runtime.internal.ActorAccess;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The host of actors and compiled graphs in one JVM (one per Spark executor). It hands out the devices it was given,
 * accounts CPU slots, names actors uniquely, and closes everything it created, graphs first, in reverse order.
 *
 * <p>Thread-safety: all methods may be called from any thread.
 */
public final class StokerRuntime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StokerRuntime.class);
    private static final String FUNCTION_ACTOR = "stoker-functions";

    private final RuntimeConfig config;
    private final AtomicLong actorIds = new AtomicLong();
    private final AtomicLong graphIds = new AtomicLong();
    private final Map<String, ActorHandle<?>> actors = new LinkedHashMap<>();
    private final Set<CompiledGraph<?, ?>> graphs = new LinkedHashSet<>();
    private final List<String> freeGpus;
    private double freeCpus;
    private ActorHandle<Object> functionActor;
    private ScheduledExecutorService watchdogs;
    private boolean closed;

    private StokerRuntime(RuntimeConfig config) {
        this.config = config;
        this.freeGpus = new ArrayList<>(config.gpuIds());
        this.freeCpus = config.cpus();
    }

    public static StokerRuntime create(RuntimeConfig config) {
        StokerRuntime rt = new StokerRuntime(config);
        LOG.info("stoker runtime '{}' started: gpus={}, cpus={}, idle={}", config.name(), config.gpuIds(),
                config.cpus(), config.idle());
        return rt;
    }

    public static StokerRuntime create() {
        return create(RuntimeConfig.defaults());
    }

    public RuntimeConfig config() {
        return config;
    }

    /**
     * Creates an actor and waits until its factory has run on its own thread.
     *
     * @throws IllegalArgumentException when the name is taken or the resources are not available (names the need)
     * @throws io.stoker.runtime.actor.ActorDiedException when the factory throws or does not finish in time
     */
    public <A> ActorHandle<A> createActor(ActorSpec<A> spec) {
        ActorHandle<A> h;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("runtime '" + config.name() + "' is closed");
            }
            ActorHandle<?> existing = actors.get(spec.name());
            if (existing != null && existing.isAlive()) {
                throw new IllegalArgumentException("an actor named '" + spec.name() + "' already exists in runtime '"
                        + config.name() + "'; actor names must be unique");
            }
            Resources r = spec.resources();
            if (r.gpus() > freeGpus.size()) {
                throw new IllegalArgumentException("actor '" + spec.name() + "' needs " + r.gpus() + " GPU(s) but runtime '"
                        + config.name() + "' has " + freeGpus.size() + " free of " + config.gpuIds()
                        + "; configure more GPUs or fewer GPU actors");
            }
            if (r.cpus() > freeCpus + 1e-9) {
                throw new IllegalArgumentException("actor '" + spec.name() + "' needs " + r.cpus() + " CPU slot(s) but"
                        + " runtime '" + config.name() + "' has " + freeCpus + " free of " + config.cpus());
            }
            List<String> gpus = new ArrayList<>(freeGpus.subList(0, r.gpus()));
            freeGpus.removeAll(gpus);
            freeCpus -= r.cpus();
            ActorContext ctx = new ActorContext(spec.name(), gpus, r, spec.properties());
            WaitPolicy wait = spec.idle() != null ? config.waitPolicy().withKind(spec.idle()) : config.waitPolicy();
            h = ActorAccess.get().start(actorIds.incrementAndGet(), spec, ctx, wait, this::onActorEnd);
            actors.put(spec.name(), h);
        }
        h.awaitReady(config.actorStartTimeoutMillis(), TimeUnit.MILLISECONDS);
        return h;
    }

    private synchronized void onActorEnd(ActorHandle<?> h) {
        freeGpus.addAll(h.gpuIds());
        freeCpus += h.spec().resources().cpus();
    }

    /** @return the live actor with this name, or null */
    public synchronized ActorHandle<?> actor(String name) {
        ActorHandle<?> h = actors.get(name);
        return h != null && h.isAlive() ? h : null;
    }

    /** @return live actors, in creation order */
    public synchronized List<ActorHandle<?>> actors() {
        List<ActorHandle<?>> out = new ArrayList<>();
        for (ActorHandle<?> h : actors.values()) {
            if (h.isAlive()) {
                out.add(h);
            }
        }
        return out;
    }

    /** @return GPU ids not assigned to a live actor */
    public synchronized List<String> freeGpus() {
        return List.copyOf(freeGpus);
    }

    /** The actor that hosts function nodes with no actor upstream or downstream; created on first use. */
    public ActorHandle<?> functionActor() {
        synchronized (this) {
            if (functionActor != null && functionActor.isAlive()) {
                return functionActor;
            }
        }
        ActorHandle<Object> h = createActor(ActorSpec.ofSupplier(FUNCTION_ACTOR + "-" + actorIds.get(), Object::new));
        synchronized (this) {
            functionActor = h;
        }
        return h;
    }

    /** @return a fresh number for naming a graph */
    public long nextGraphId() {
        return graphIds.incrementAndGet();
    }

    /** Tracks a compiled graph so {@link #close()} can tear it down. Called by the graph itself. */
    public synchronized void registerGraph(CompiledGraph<?, ?> g) {
        graphs.add(g);
    }

    /** Forgets a torn-down graph. Called by the graph itself. */
    public synchronized void unregisterGraph(CompiledGraph<?, ?> g) {
        graphs.remove(g);
    }

    /**
     * Runs {@code check} every {@code periodMillis} on the runtime's watchdog thread (created on first use), until the
     * returned future is cancelled or the runtime closes. Used by graphs with a task timeout. {@code check} must be
     * quick and must not throw.
     */
    public synchronized ScheduledFuture<?> scheduleWatchdog(Runnable check, long periodMillis) {
        if (closed) {
            throw new IllegalStateException("runtime '" + config.name() + "' is closed");
        }
        if (watchdogs == null) {
            ScheduledThreadPoolExecutor ex = new ScheduledThreadPoolExecutor(1, r -> {
                Thread t = new Thread(r, "stoker-" + config.name() + "-watchdog");
                t.setDaemon(true);
                return t;
            });
            ex.setRemoveOnCancelPolicy(true);
            watchdogs = ex;
        }
        return watchdogs.scheduleAtFixedRate(() -> {
            try {
                check.run();
            } catch (RuntimeException e) {
                LOG.warn("watchdog check failed", e);
            }
        }, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
    }

    /** @return graphs compiled on this runtime and not yet closed */
    public synchronized List<CompiledGraph<?, ?>> graphs() {
        return List.copyOf(graphs);
    }

    /** Closes every graph, then every actor in reverse creation order. Idempotent. */
    @Override
    public void close() {
        List<CompiledGraph<?, ?>> gs;
        List<ActorHandle<?>> as;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            gs = new ArrayList<>(graphs);
            as = new ArrayList<>(actors.values());
        }
        for (int i = gs.size() - 1; i >= 0; i--) {
            gs.get(i).close();
        }
        for (int i = as.size() - 1; i >= 0; i--) {
            as.get(i).close();
        }
        synchronized (this) {
            if (watchdogs != null) {
                watchdogs.shutdownNow();
            }
        }
        LOG.info("stoker runtime '{}' closed", config.name());
    }

    @Override
    public String toString() {
        return "StokerRuntime[" + config.name() + "]";
    }
}
