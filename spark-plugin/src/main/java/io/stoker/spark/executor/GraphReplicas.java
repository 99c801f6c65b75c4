package io.stoker.spark.executor;

import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.graph.CompiledGraph;
import io.stoker.runtime.graph.GraphBuilder;
import io.stoker.runtime.graph.GraphOptions;
import io.stoker.runtime.graph.InputNode;
import io.stoker.runtime.graph.Node;
import io.stoker.spark.graph.GraphSpec;
import io.stoker.spark.graph.StepSpec;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One {@link GraphSpec} compiled inside one executor: a replica per actor of the spec's widest pool (replica
 * {@code r} runs on actor {@code r mod size} of each pool), so GPU actors of one pool work side by side. Tasks take
 * a replica per batch in round-robin order; concurrent tasks' batches interleave within each replica.
 *
 * <p>Thread-safety: {@link #next()} may be called from any thread; the replicas are thread-safe.
 */
public final class GraphReplicas implements AutoCloseable {
    private final GraphSpec spec;
    private final List<CompiledGraph<Object, Object>> replicas;
    private final AtomicLong turn = new AtomicLong();

    private GraphReplicas(GraphSpec spec, List<CompiledGraph<Object, Object>> replicas) {
        this.spec = spec;
        this.replicas = List.copyOf(replicas);
    }

    /**
     * Compiles {@code spec} on the executor's pools.
     *
     * @throws GraphSpecException naming the spec, the step and the cause (unknown pool, no such method, compile
     *                            failure)
     */
    static GraphReplicas compile(GraphSpec spec, ExecutorRuntime host) {
        Map<String, ActorPool> pools = new HashMap<>();
        int width = 1;
        for (String p : spec.poolsUsed()) {
            ActorPool pool = host.pool(p, spec.pools().get(p), spec);
            pools.put(p, pool);
            width = Math.max(width, pool.size());
        }
        Map<String, MethodHandle> methods = new HashMap<>();
        for (StepSpec s : spec.steps()) {
            if (s.isActorStep()) {
                ActorPool pool = pools.get(s.pool());
                methods.put(s.id(), resolve(spec, s, pool.actor(0).context().name(), actorClassOf(pool)));
            }
        }
        List<CompiledGraph<Object, Object>> out = new ArrayList<>();
        try {
            for (int r = 0; r < width; r++) {
                out.add(compileReplica(spec, host, pools, methods, r, width));
            }
        } catch (RuntimeException e) {
            out.forEach(CompiledGraph::close);
            if (e instanceof GraphSpecException || e instanceof PoolStartException) {
                throw e;
            }
            throw new GraphSpecException("graph spec '" + spec.name() + "' failed to compile on executor "
                    + host.executorId() + ": " + e.getMessage(), e);
        }
        host.metrics().graphCompiled();
        return new GraphReplicas(spec, out);
    }

    private static Class<?> actorClassOf(ActorPool pool) {
        return pool.actorClass();
    }

    private static CompiledGraph<Object, Object> compileReplica(GraphSpec spec, ExecutorRuntime host,
                                                                Map<String, ActorPool> pools,
                                                                Map<String, MethodHandle> methods, int r, int width) {
        GraphBuilder g = GraphBuilder.on(host.runtime(), spec.name() + (width > 1 ? "#" + r : ""));
        InputNode<Object> in = g.input();
        Map<String, Node<?>> nodes = new HashMap<>();
        nodes.put(GraphSpec.INPUT, in);
        for (StepSpec s : spec.steps()) {
            List<Node<?>> args = new ArrayList<>();
            for (String i : s.inputs()) {
                args.add(nodes.get(i));
            }
            Node<?> n;
            if (s.isActorStep()) {
                @SuppressWarnings("unchecked")
                ActorHandle<Object> actor = (ActorHandle<Object>) pools.get(s.pool()).actor(r);
                MethodHandle mh = methods.get(s.id());
                n = g.bindN(actor, s.pool() + "." + s.method(), (a, xs) -> invoke(mh, a, xs), args);
            } else {
                @SuppressWarnings("unchecked")
                io.stoker.runtime.graph.FunctionN<Object> f = (io.stoker.runtime.graph.FunctionN<Object>) s.function();
                n = g.functionN(s.id(), f, args);
            }
            nodes.put(s.id(), n);
        }
        @SuppressWarnings("unchecked")
        Node<Object> output = (Node<Object>) nodes.get(spec.output());
        GraphOptions opts = GraphOptions.defaults().withMaxInFlight(host.conf().graphMaxInFlight())
                .withGetTimeoutMillis(host.conf().batchTimeoutMillis())
                .withSubmitTimeoutMillis(host.conf().batchTimeoutMillis())
                .withTimings(false);
        return g.compile(output, opts);
    }

    private static Object invoke(MethodHandle mh, Object actor, Object[] args) throws Exception {
        try {
            return mh.invoke(actor, args);
        } catch (Exception | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static MethodHandle resolve(GraphSpec spec, StepSpec s, String actorName, Class<?> cls) {
        int arity = s.inputs().size();
        Method found = null;
        TreeSet<String> candidates = new TreeSet<>();
        for (Method m : cls.getMethods()) {
            if (Modifier.isStatic(m.getModifiers()) || m.getDeclaringClass() == Object.class) {
                continue;
            }
            candidates.add(m.getName() + "/" + m.getParameterCount());
            if (m.getName().equals(s.method()) && m.getParameterCount() == arity) {
                if (found != null) {
                    throw new GraphSpecException("graph spec '" + spec.name() + "' step " + s.describe() + ": "
                            + cls.getName() + " has several public methods '" + s.method() + "' taking " + arity
                            + " argument(s); give them distinct names");
                }
                found = m;
            }
        }
        if (found == null) {
            throw new GraphSpecException("graph spec '" + spec.name() + "' step " + s.describe() + ": actor class "
                    + cls.getName() + " (actor '" + actorName + "') has no public method '" + s.method() + "' taking "
                    + arity + " argument(s); public methods (name/arity): " + candidates);
        }
        try {
            found.setAccessible(true);
            return MethodHandles.lookup().unreflect(found).asSpreader(Object[].class, arity)
                    .asType(java.lang.invoke.MethodType.methodType(Object.class, Object.class, Object[].class));
        } catch (IllegalAccessException | RuntimeException e) {
            throw new GraphSpecException("graph spec '" + spec.name() + "' step " + s.describe() + ": method "
                    + found + " cannot be called: " + e, e);
        }
    }

    /** @return the replica for the caller's next batch (round robin) */
    public CompiledGraph<Object, Object> next() {
        int n = replicas.size();
        return n == 1 ? replicas.get(0) : replicas.get((int) Math.floorMod(turn.getAndIncrement(), (long) n));
    }

    /** @return true when a replica has failed (an actor died) or was closed: compile again */
    public boolean isBroken() {
        for (CompiledGraph<?, ?> g : replicas) {
            if (g.isClosed() || g.failure() != null) {
                return true;
            }
        }
        return false;
    }

    public GraphSpec spec() {
        return spec;
    }

    public int size() {
        return replicas.size();
    }

    @Override
    public void close() {
        for (int i = replicas.size() - 1; i >= 0; i--) {
            replicas.get(i).close();
        }
    }
}
