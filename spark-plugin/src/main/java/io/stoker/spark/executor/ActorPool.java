package io.stoker.spark.executor;

import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorContext;
import io.stoker.runtime.actor.ActorDiedException;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.spark.actor.ActorEnv;
import io.stoker.spark.actor.ActorPoolSpec;
import io.stoker.spark.actor.StokerActorFactory;
import org.apache.arrow.memory.BufferAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The live actors of one {@link ActorPoolSpec} inside one executor: constructed once (in parallel, each on its own
 * thread) and shared by every task, stage and job. Each actor gets its GPUs from the runtime (the addresses Spark
 * assigned the executor) and a named child allocator, closed after the actor stops.
 *
 * <p>An actor that dies (its thread threw) is constructed again at the next {@link #actor} call, which the
 * {@code actorInits} metric shows; concurrent callers share that one construction.
 *
 * <p>Thread-safety: all methods may be called from any thread.
 */
final class ActorPool implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ActorPool.class);

    private final ActorPoolSpec spec;
    private final ExecutorRuntime host;
    private final Map<String, Path> artifacts;
    private final Class<?> actorClass;
    private final ActorHandle<?>[] actors;
    private final BufferAllocator[] allocators;
    /** Per slot: the construction in progress (replacing a dead actor), or null. Guarded by {@code this}. */
    private final CompletableFuture<ActorHandle<?>>[] building;
    private final int gpusPerActor;
    private volatile Class<?> instanceClass;
    private final java.util.concurrent.atomic.AtomicLong constructions = new java.util.concurrent.atomic.AtomicLong();
    private boolean closed;

    private ActorPool(ActorPoolSpec spec, ExecutorRuntime host, Map<String, Path> artifacts, Class<?> actorClass,
                      int size, int gpusPerActor) {
        this.spec = spec;
        this.host = host;
        this.artifacts = artifacts;
        this.actorClass = actorClass;
        this.actors = new ActorHandle<?>[size];
        this.allocators = new BufferAllocator[size];
        @SuppressWarnings("unchecked")
        CompletableFuture<ActorHandle<?>>[] b = new CompletableFuture[size];
        this.building = b;
        this.gpusPerActor = gpusPerActor;
    }

    /**
     * Fetches the pool's artifacts, then constructs all its actors and waits for them.
     *
     * @throws PoolStartException naming the pool, the actor and the cause when a constructor throws, a class is
     *                            missing, an artifact fails, or the executor lacks the GPUs or CPU slots asked for
     */
    static ActorPool start(ActorPoolSpec spec, ExecutorRuntime host) {
        Map<String, Path> arts = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, String> a : spec.artifacts().entrySet()) {
            try {
                arts.put(a.getKey(), host.artifacts().fetch(a.getValue()));
            } catch (RuntimeException e) {
                throw new PoolStartException("actor pool '" + spec.name() + "' on executor " + host.executorId()
                        + ": artifact '" + a.getKey() + "' failed: " + e.getMessage(), e);
            }
        }
        Class<?> cls = null;
        if (spec.className() != null) {
            cls = loadClass(spec, host);
        }
        int executorGpus = host.gpuAddresses().size();
        int size = spec.actorsFor(executorGpus);
        int gpusEach = executorGpus > 0 ? spec.gpus() : 0;
        if (gpusEach * size > executorGpus) {
            throw new PoolStartException("actor pool '" + spec.name() + "' needs " + size + " actor(s) x " + gpusEach
                    + " GPU(s) but executor " + host.executorId() + " has " + executorGpus + " GPU(s) "
                    + host.gpuAddresses() + "; lower spark.stoker.pool." + spec.name() + ".count or .gpus, or raise"
                    + " spark.executor.resource." + host.conf().gpuResource() + ".amount");
        }
        ActorPool pool = new ActorPool(spec, host, Map.copyOf(arts), cls, size, gpusEach);
        try {
            // Start every actor's construction before waiting, so N model loads run side by side.
            List<Thread> starters = new ArrayList<>();
            List<RuntimeException> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int i = 0; i < size; i++) {
                int idx = i;
                Thread t = new Thread(() -> {
                    try {
                        pool.construct(idx);
                    } catch (RuntimeException e) {
                        failures.add(e);
                    }
                }, "stoker-pool-start-" + spec.name() + "-" + i);
                t.setContextClassLoader(Thread.currentThread().getContextClassLoader());
                t.start();
                starters.add(t);
            }
            for (Thread t : starters) {
                t.join();
            }
            if (!failures.isEmpty()) {
                throw failures.get(0);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            pool.close();
            throw new PoolStartException("interrupted while starting actor pool '" + spec.name() + "'", e);
        } catch (RuntimeException e) {
            pool.close();
            throw e;
        }
        LOG.info("actor pool '{}' on executor {}: {} actor(s) of {} started, gpus {}", spec.name(), host.executorId(),
                size, spec.target(), pool.gpuAssignments());
        return pool;
    }

    private static Class<?> loadClass(ActorPoolSpec spec, ExecutorRuntime host) {
        ClassLoader cl = Thread.currentThread().getContextClassLoader();
        if (cl == null) {
            cl = ActorPool.class.getClassLoader();
        }
        try {
            return Class.forName(spec.className(), false, cl);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new PoolStartException("actor pool '" + spec.name() + "' on executor " + host.executorId()
                    + ": actor class " + spec.className() + " cannot be loaded (" + e + "); ship its jar with --jars"
                    + " or spark.jars", e);
        }
    }

    /**
     * Builds actor {@code i} with its own allocator and publishes both in slot {@code i}. Callers make sure only one
     * construction per slot runs at a time ({@link #start} uses distinct slots; {@link #actor} is single-flight).
     */
    private ActorHandle<?> construct(int i) {
        String actorName = spec.name() + "-" + i;
        BufferAllocator alloc = host.allocator().newChildAllocator("actor-" + actorName, 0, Long.MAX_VALUE);
        ActorSpec<Object> as = ActorSpec.of(actorName, ctx -> newActor(ctx, i, alloc))
                .withGpus(gpusPerActor).withCpus(spec.cpus());
        for (Map.Entry<String, String> p : spec.properties().entrySet()) {
            as = as.withProperty(p.getKey(), p.getValue());
        }
        ActorHandle<Object> h;
        try {
            h = host.runtime().createActor(as);
        } catch (ActorDiedException e) {
            alloc.close();
            host.metrics().actorInitFailure();
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new PoolStartException("actor '" + actorName + "' of pool '" + spec.name() + "' (" + spec.target()
                    + ") failed to construct on executor " + host.executorId() + ": " + cause, cause);
        } catch (IllegalArgumentException | IllegalStateException e) {
            alloc.close();
            throw new PoolStartException("actor '" + actorName + "' of pool '" + spec.name() + "' cannot start on"
                    + " executor " + host.executorId() + ": " + e.getMessage(), e);
        }
        boolean published;
        synchronized (this) {
            published = !closed;
            if (published) {
                actors[i] = h;
                allocators[i] = alloc;
            }
        }
        if (!published) {
            // The pool closed while this actor was being built, so close() never saw it: stop it here.
            h.close();
            closeAllocator(alloc);
            throw new IllegalStateException("actor pool '" + spec.name() + "' is closed (executor shutting down)");
        }
        constructions.incrementAndGet();
        host.metrics().actorInit();
        return h;
    }

    /** @return how many actors this pool has constructed successfully, replacements included */
    long constructions() {
        return constructions.get();
    }

    /** Runs on the actor's own thread. */
    private Object newActor(ActorContext ctx, int index, BufferAllocator alloc) throws Exception {
        Object a = instantiate(ctx, index, alloc);
        if (a == null) {
            throw new IllegalStateException("the factory of pool '" + spec.name() + "' returned null");
        }
        instanceClass = a.getClass();
        return a;
    }

    private Object instantiate(ActorContext ctx, int index, BufferAllocator alloc) throws Exception {
        ActorEnv env = new ActorEnv(ctx, spec.name(), index, host.executorId(), alloc, artifacts);
        if (spec.factory() != null) {
            @SuppressWarnings("unchecked")
            StokerActorFactory<Object> f = (StokerActorFactory<Object>) spec.factory();
            return f.create(env);
        }
        try {
            for (Constructor<?> c : actorClass.getConstructors()) {
                Class<?>[] p = c.getParameterTypes();
                if (p.length == 1 && p[0] == ActorEnv.class) {
                    return c.newInstance(env);
                }
            }
            for (Constructor<?> c : actorClass.getConstructors()) {
                Class<?>[] p = c.getParameterTypes();
                if (p.length == 1 && p[0] == ActorContext.class) {
                    return c.newInstance(ctx);
                }
            }
            return actorClass.getConstructor().newInstance();
        } catch (InvocationTargetException e) {
            Throwable c = e.getCause();
            if (c instanceof Exception) {
                throw (Exception) c;
            }
            throw e;
        } catch (NoSuchMethodException e) {
            throw new IllegalArgumentException("actor class " + actorClass.getName() + " needs a public constructor"
                    + " taking io.stoker.spark.actor.ActorEnv, io.stoker.runtime.actor.ActorContext, or nothing", e);
        }
    }

    /**
     * Returns actor {@code i mod size()}, constructing it again first if it died. Single-flight per slot: while one
     * caller constructs a replacement, every other caller asking for that slot waits for the same construction and
     * gets its actor (or its failure). A failure is not remembered: the next call after it tries again.
     *
     * @throws PoolStartException    when the replacement fails to construct
     * @throws IllegalStateException when the pool is closed (before or during the construction)
     */
    ActorHandle<?> actor(int i) {
        int idx = Math.floorMod(i, actors.length);
        CompletableFuture<ActorHandle<?>> running;
        CompletableFuture<ActorHandle<?>> mine = null;
        ActorHandle<?> dead = null;
        BufferAllocator deadAllocator = null;
        synchronized (this) {
            checkOpen();
            ActorHandle<?> h = actors[idx];
            if (h != null && h.isAlive()) {
                return h;
            }
            running = building[idx];
            if (running == null) {
                mine = new CompletableFuture<>();
                building[idx] = mine;
                dead = h;
                deadAllocator = allocators[idx];
                actors[idx] = null;
                allocators[idx] = null;
            }
        }
        if (running != null) {
            return await(running);
        }
        try {
            if (dead != null) {
                LOG.warn("actor '{}' died ({}); constructing it again", dead.name(), dead.deathCause());
                dead.close();
            }
            if (deadAllocator != null) {
                closeAllocator(deadAllocator);
            }
            ActorHandle<?> h = construct(idx);
            mine.complete(h);
            return h;
        } catch (RuntimeException | Error e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            synchronized (this) {
                building[idx] = null;
            }
        }
    }

    private ActorHandle<?> await(CompletableFuture<ActorHandle<?>> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for an actor of pool '" + spec.name()
                    + "' to be constructed", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException) {
                throw (RuntimeException) c;
            }
            if (c instanceof Error) {
                throw (Error) c;
            }
            throw new PoolStartException("actor pool '" + spec.name() + "': " + c, c);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("actor pool '" + spec.name() + "' is closed (executor shutting down)");
        }
    }

    int size() {
        return actors.length;
    }

    /** @return the class of the constructed actors */
    Class<?> actorClass() {
        return instanceClass;
    }

    ActorPoolSpec spec() {
        return spec;
    }

    /** @return each live actor's name and GPU ids */
    synchronized Map<String, List<String>> gpuAssignments() {
        Map<String, List<String>> m = new java.util.LinkedHashMap<>();
        for (ActorHandle<?> h : actors) {
            if (h != null) {
                m.put(h.name(), h.gpuIds());
            }
        }
        return m;
    }

    synchronized int alive() {
        int n = 0;
        for (ActorHandle<?> h : actors) {
            if (h != null && h.isAlive()) {
                n++;
            }
        }
        return n;
    }

    /** Stops every actor (each runs its {@code close()} when AutoCloseable), then closes their allocators. */
    @Override
    public void close() {
        ActorHandle<?>[] hs;
        BufferAllocator[] as;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            hs = actors.clone();
            as = allocators.clone();
        }
        for (int i = hs.length - 1; i >= 0; i--) {
            if (hs[i] != null) {
                hs[i].close();
            }
            if (as[i] != null) {
                closeAllocator(as[i]);
            }
        }
    }

    private static void closeAllocator(BufferAllocator a) {
        try {
            a.close();
        } catch (IllegalStateException e) {
            LOG.error("allocator {} still holds Arrow memory when its actor stopped (a batch the actor returned was"
                    + " never closed): {}", a.getName(), e.getMessage());
        }
    }
}
