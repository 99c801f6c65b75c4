package io.stoker.benchmarks.graph;

import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.channel.IdleKind;
import io.stoker.runtime.graph.CompiledGraph;
import io.stoker.runtime.graph.GraphBuilder;
import io.stoker.runtime.graph.GraphOptions;
import io.stoker.runtime.graph.InputNode;
import io.stoker.runtime.graph.Node;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Compiled graph versus eager actor calls for three shapes, with the same actors and payloads.
 *
 * <ul>
 *   <li>{@code single}: input → a.echo → output</li>
 *   <li>{@code chain4}: input → a1 → a2 → a3 → a4 → output</li>
 *   <li>{@code scatter_gather4}: input → a1..a4 in parallel → gather (a function node on a1) → output</li>
 * </ul>
 * Eager mode makes the same calls with {@code actor.call(...)}: futures chained per hop (chain4) or joined
 * (scatter_gather4); in eager mode no graph is installed, so actors sleep until called, as RPC workers do.
 * Payloads are pre-allocated and actors do not allocate, so the runtime's own allocation shows in {@code -prof gc}.
 */
@State(Scope.Benchmark)
public class GraphBenchmark {
    /** Pre-allocated payload; actors read it and pass it on. */
    public static final class Payload {
        final long id;

        Payload(long id) {
            this.id = id;
        }
    }

    /** A stateful actor that touches the payload and returns it. */
    public static final class Echo {
        long sink;

        public Payload echo(Payload p) {
            sink += p.id;
            return p;
        }
    }

    @Param({"single", "chain4", "scatter_gather4"})
    public String shape;

    @Param({"compiled", "eager"})
    public String mode;

    @Param({"backoff"})
    public String idle;

    static final int PIPELINE = 64;

    private StokerRuntime runtime;
    private List<ActorHandle<Echo>> actors;
    private CompiledGraph<Payload, Payload> graph;
    private Payload[] payloads;

    /** Per-caller scratch, so the benchmark itself allocates nothing per operation. */
    @State(Scope.Thread)
    public static class Caller {
        final long[] seqs = new long[PIPELINE];
        @SuppressWarnings("unchecked")
        final CompletableFuture<Payload>[] futures = new CompletableFuture[PIPELINE];
    }

    @Setup(Level.Trial)
    public void setUp() {
        runtime = StokerRuntime.create(RuntimeConfig.defaults().withName("bench")
                .withIdle(IdleKind.parse("idle", idle)));
        int n = "single".equals(shape) ? 1 : 4;
        actors = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            actors.add(runtime.createActor(ActorSpec.ofSupplier("a" + i, Echo::new)));
        }
        payloads = new Payload[PIPELINE];
        for (int i = 0; i < PIPELINE; i++) {
            payloads[i] = new Payload(i);
        }
        if ("compiled".equals(mode)) {
            graph = compile();
        }
    }

    private CompiledGraph<Payload, Payload> compile() {
        GraphBuilder g = GraphBuilder.on(runtime, shape);
        InputNode<Payload> in = g.input();
        Node<Payload> out;
        switch (shape) {
            case "single":
                out = g.bind(actors.get(0), Echo::echo, in);
                break;
            case "chain4":
                out = in;
                for (ActorHandle<Echo> a : actors) {
                    out = g.bind(a, Echo::echo, out);
                }
                break;
            case "scatter_gather4":
                List<Node<?>> branches = new ArrayList<>();
                for (ActorHandle<Echo> a : actors) {
                    branches.add(g.bind(a, Echo::echo, in));
                }
                out = g.functionN("gather", args -> (Payload) args[0], branches);
                break;
            default:
                throw new IllegalArgumentException("unknown shape " + shape);
        }
        return g.compile(out, GraphOptions.defaults().withMaxInFlight(PIPELINE).withTimings(false));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        runtime.close();
    }

    /** One execution at a time: submit, wait for the result. */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Payload latency() {
        return once(payloads[0]);
    }

    /** {@value #PIPELINE} executions in flight, then all results: throughput. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @OperationsPerInvocation(PIPELINE)
    public long pipelined(Caller c) {
        return burst(c, PIPELINE);
    }

    /** Two callers at once, one execution at a time each. */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    @Threads(2)
    public Payload latencyTwoCallers() {
        return once(payloads[1]);
    }

    /** Two callers at once, each keeping half the pipeline in flight. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Threads(2)
    @OperationsPerInvocation(PIPELINE / 2)
    public long pipelinedTwoCallers(Caller c) {
        return burst(c, PIPELINE / 2);
    }

    private Payload once(Payload p) {
        if (graph != null) {
            return graph.await(graph.submit(p)); // the allocation-free form of execute(p).get()
        }
        return eager(p).join();
    }

    private long burst(Caller c, int n) {
        long sum = 0;
        if (graph != null) {
            long[] s = c.seqs;
            for (int i = 0; i < n; i++) {
                s[i] = graph.submit(payloads[i]);
            }
            for (int i = 0; i < n; i++) {
                sum += graph.await(s[i]).id;
            }
            return sum;
        }
        CompletableFuture<Payload>[] fs = c.futures;
        for (int i = 0; i < n; i++) {
            fs[i] = eager(payloads[i]);
        }
        for (int i = 0; i < n; i++) {
            sum += fs[i].join().id;
            fs[i] = null;
        }
        return sum;
    }

    private CompletableFuture<Payload> eager(Payload p) {
        switch (shape) {
            case "single":
                return actors.get(0).call(Echo::echo, p);
            case "chain4": {
                CompletableFuture<Payload> f = actors.get(0).call(Echo::echo, p);
                for (int i = 1; i < actors.size(); i++) {
                    ActorHandle<Echo> a = actors.get(i);
                    f = f.thenCompose(x -> a.call(Echo::echo, x));
                }
                return f;
            }
            default: {
                @SuppressWarnings("unchecked")
                CompletableFuture<Payload>[] parts = new CompletableFuture[actors.size()];
                for (int i = 0; i < parts.length; i++) {
                    parts[i] = actors.get(i).call(Echo::echo, p);
                }
                return CompletableFuture.allOf(parts).thenApply(v -> parts[0].join());
            }
        }
    }
}
