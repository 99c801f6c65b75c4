package io.stoker.runtime.graph;

import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.comm.CollectiveHandle;
import io.stoker.runtime.comm.CollectiveKind;
import io.stoker.runtime.comm.Communicator;
import io.stoker.runtime.comm.CpuCommunicator;
import io.stoker.runtime.comm.ReduceOp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Collectives are matched per group and per graph: graphs sharing actors and a communicator never pair their calls,
 * and a rank that cannot take part (invalid input, failed task) fails that execution on every rank and leaves the
 * group in step. Covers collective nodes and blocking collectives called inside methods.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CollectiveScopeTest {
    /** Rank r of a tensor-parallel pair: contributes {x + r} (or nothing, on request) to a sum. */
    static final class Rank {
        final int rank;
        Communicator comm; // set once, by an eager call, before any graph runs

        Rank(int rank) {
            this.rank = rank;
        }

        Boolean use(Communicator c) {
            this.comm = c;
            return true;
        }

        float[] make(Integer x) {
            return new float[]{x + rank};
        }

        /** Returns null on rank 1 for input 1: an invalid collective input. */
        float[] nullOnOne(Integer x) {
            return rank == 1 && x == 1 ? null : make(x);
        }

        /** A blocking allreduce inside the method, as tensor-parallel layers do. */
        float[] forward(Integer x) {
            float[] v = make(x);
            comm.allreduceInPlace(rank, v, ReduceOp.SUM);
            return v;
        }

        /** Rank 1 throws before its collective for input 1; rank 0 must not wait for it. */
        float[] forwardFailingOnOne(Integer x) {
            if (rank == 1 && x == 1) {
                throw new IllegalStateException("rank 1 cannot take input 1");
            }
            return forward(x);
        }

        /** Rank 1 passes a null buffer to its blocking collective for input 1. */
        float[] forwardNullOnOne(Integer x) {
            float[] v = rank == 1 && x == 1 ? null : make(x);
            comm.allreduceInPlace(rank, v, ReduceOp.SUM);
            return v;
        }

        /** Two blocking collectives per execution: a sum, then a max. */
        float[] twoCalls(Integer x) {
            float[] s = make(x);
            comm.allreduceInPlace(rank, s, ReduceOp.SUM);
            float[] m = make(x * 10);
            comm.allreduceInPlace(rank, m, ReduceOp.MAX);
            return new float[]{s[0], m[0]};
        }
    }

    /** Holds an input back for a while, to control which graph reaches a rank first. */
    static final class Delay {
        Integer hold(Integer x) throws InterruptedException {
            Thread.sleep(300);
            return x;
        }
    }

    private StokerRuntime rt;
    private ActorHandle<Rank> r0;
    private ActorHandle<Rank> r1;
    private CpuCommunicator comm;

    @BeforeEach
    void setUp() {
        rt = StokerRuntime.create();
        r0 = rt.createActor(ActorSpec.of("r0", ctx -> new Rank(0)));
        r1 = rt.createActor(ActorSpec.of("r1", ctx -> new Rank(1)));
        comm = CpuCommunicator.create("tp", List.of(r0, r1), 20, TimeUnit.SECONDS);
        r0.call(Rank::use, comm).join();
        r1.call(Rank::use, comm).join();
    }

    @AfterEach
    void tearDown() {
        rt.close();
    }

    private CompiledGraph<Integer, List<Object>> allreduceGraph(String name, ActorMethod m) {
        GraphBuilder g = GraphBuilder.on(rt, name);
        InputNode<Integer> in = g.input();
        List<Node<float[]>> local = List.of(m.bind(g, r0, in), m.bind(g, r1, in));
        List<Node<float[]>> sum = g.allreduce(comm, ReduceOp.SUM, local);
        return g.compileMulti(GraphOptions.defaults().withMaxInFlight(32), sum.get(0), sum.get(1));
    }

    @FunctionalInterface
    interface ActorMethod {
        Node<float[]> bind(GraphBuilder g, ActorHandle<Rank> a, Node<Integer> in);
    }

    private static float sumOf(int x) {
        return 2f * x + 1; // (x + 0) + (x + 1)
    }

    @Test
    void shouldNeverPairCollectiveNodesOfTwoGraphsSharingTheCommunicator() throws Exception {
        // The prefill/decode shape: two graphs, one TP group, one communicator, driven concurrently.
        CompiledGraph<Integer, List<Object>> a = allreduceGraph("prefill", (g, h, in) -> g.bind(h, Rank::make, in));
        CompiledGraph<Integer, List<Object>> b = allreduceGraph("decode", (g, h, in) -> g.bind(h, Rank::make, in));
        ExecutorService callers = Executors.newFixedThreadPool(2);
        try {
            CompletableFuture<Void> fa = CompletableFuture.runAsync(() -> drive(a, 1, 1_000), callers);
            CompletableFuture<Void> fb = CompletableFuture.runAsync(() -> drive(b, 1000, 1_000), callers);
            CompletableFuture.allOf(fa, fb).get(50, TimeUnit.SECONDS);
        } finally {
            callers.shutdownNow();
        }
    }

    /** Keeps 8 executions in flight and checks every result on both ranks. */
    private static void drive(CompiledGraph<Integer, List<Object>> g, int base, int n) {
        List<ExecutionRef<List<Object>>> window = new ArrayList<>();
        List<Integer> inputs = new ArrayList<>();
        for (int i = 0; i < n || !window.isEmpty(); i++) {
            if (i < n) {
                window.add(g.execute(base + i));
                inputs.add(base + i);
            }
            if (window.size() == 8 || i >= n) {
                List<Object> r = window.remove(0).get(20, TimeUnit.SECONDS);
                int x = inputs.remove(0);
                assertThat((float[]) r.get(0)).as("%s input %d rank 0", g.name(), x).containsExactly(sumOf(x));
                assertThat((float[]) r.get(1)).as("%s input %d rank 1", g.name(), x).containsExactly(sumOf(x));
            }
        }
    }

    @Test
    void shouldFailEveryRankOnAnInvalidNodeInputAndStayInStep() {
        // The case: rank 1's input is null. Its call still takes its place, so input 8 then gives 16 + 1
        // on both ranks, not 15 and 17.
        try (CompiledGraph<Integer, List<Object>> cg = allreduceGraph("nulls",
                (g, h, in) -> g.bind(h, Rank::nullOnOne, in))) {
            assertThat(cg.execute(8).get()).satisfies(r -> assertThat((float[]) r.get(0)).containsExactly(17f));
            assertThatThrownBy(() -> cg.execute(1).get()).isInstanceOf(ExecutionFailedException.class)
                    .hasMessageContaining("rank 1 allreduce: buffer is null");
            for (int x = 2; x < 50; x++) {
                List<Object> r = cg.execute(x).get();
                assertThat((float[]) r.get(0)).as("input %d rank 0", x).containsExactly(sumOf(x));
                assertThat((float[]) r.get(1)).as("input %d rank 1", x).containsExactly(sumOf(x));
            }
        }
    }

    @Test
    void shouldNeverPairBlockingCollectivesInsideMethodsOfTwoGraphs() {
        CompiledGraph<Integer, List<Object>> a = methodGraph("a", Rank::forward);
        CompiledGraph<Integer, List<Object>> b = methodGraph("b", Rank::forward);
        // Both graphs in flight at once: the ranks may take a's and b's executions in different orders. Each call
        // must meet only its own graph's: a result is either right or, when the two ranks blocked in different
        // graphs' calls, a detected circular wait; never a sum mixing a and b.
        int ok = 0;
        int circular = 0;
        for (int round = 0; round < 200; round++) {
            ExecutionRef<List<Object>> ra = a.execute(round);
            ExecutionRef<List<Object>> rb = b.execute(1000 + round);
            for (ExecutionRef<List<Object>> r : List.of(ra, rb)) {
                int x = r == ra ? round : 1000 + round;
                try {
                    List<Object> got = r.get(20, TimeUnit.SECONDS);
                    assertThat((float[]) got.get(0)).as("input %d rank 0", x).containsExactly(sumOf(x));
                    assertThat((float[]) got.get(1)).as("input %d rank 1", x).containsExactly(sumOf(x));
                    ok++;
                } catch (ExecutionFailedException e) {
                    assertThat(e).hasMessageContaining("wait for each other");
                    circular++;
                }
            }
        }
        assertThat(ok).as("most executions succeed (%d circular waits were detected)", circular).isGreaterThan(200);
        // Run one graph's execution to the end before the other's (the documented contract): no failures at all.
        for (int round = 0; round < 50; round++) {
            assertThat((float[]) a.execute(round).get().get(0)).containsExactly(sumOf(round));
            assertThat((float[]) b.execute(2000 + round).get().get(1)).containsExactly(sumOf(2000 + round));
        }
    }

    private CompiledGraph<Integer, List<Object>> methodGraph(String name,
                                                            io.stoker.runtime.actor.ActorMethod1<Rank, Integer, float[]> m) {
        GraphBuilder g = GraphBuilder.on(rt, name);
        InputNode<Integer> in = g.input();
        return g.compileMulti(GraphOptions.defaults(), g.bind(r0, m, in), g.bind(r1, m, in));
    }

    @Test
    void shouldFailAtOnceOnEveryRankWhenOneRankFailsBeforeItsBlockingCollective() {
        try (CompiledGraph<Integer, List<Object>> cg = methodGraph("early-failure", Rank::forwardFailingOnOne)) {
            long t0 = System.nanoTime();
            ExecutionRef<List<Object>> failing = cg.execute(1);
            assertThatThrownBy(() -> failing.output(0).get()).as("rank 0 does not wait for rank 1's missing call")
                    .isInstanceOf(ExecutionFailedException.class)
                    .hasMessageContaining("r0.forwardFailingOnOne")
                    .hasMessageContaining("rank 1 (actor 'r1') skips it")
                    .hasMessageContaining("rank 1 cannot take input 1");
            assertThatThrownBy(() -> failing.output(1).get()).hasMessageContaining("rank 1 cannot take input 1");
            assertThat(System.nanoTime() - t0).as("not after the 20 s collective timeout")
                    .isLessThan(TimeUnit.SECONDS.toNanos(10));
            for (int x = 2; x < 40; x++) {
                List<Object> r = cg.execute(x).get();
                assertThat((float[]) r.get(0)).as("input %d: the group is still in step", x)
                        .containsExactly(sumOf(x));
                assertThat((float[]) r.get(1)).containsExactly(sumOf(x));
            }
        }
    }

    @Test
    void shouldFailEveryRankOnAnInvalidBufferInsideAMethodAndStayInStep() {
        try (CompiledGraph<Integer, List<Object>> cg = methodGraph("null-buffer", Rank::forwardNullOnOne)) {
            assertThatThrownBy(() -> cg.execute(1).output(0).get()).isInstanceOf(ExecutionFailedException.class)
                    .hasMessageContaining("rank 1 allreduce: buffer is null");
            List<Object> r = cg.execute(8).get();
            assertThat((float[]) r.get(0)).as("16 + 1 on both ranks, not 15 and 17").containsExactly(17f);
            assertThat((float[]) r.get(1)).containsExactly(17f);
        }
    }

    @Test
    void shouldMatchSeveralBlockingCallsPerExecutionInOrder() {
        try (CompiledGraph<Integer, List<Object>> cg = methodGraph("two-calls", Rank::twoCalls)) {
            List<ExecutionRef<List<Object>>> refs = new ArrayList<>();
            for (int x = 0; x < 16; x++) {
                refs.add(cg.execute(x));
            }
            for (int x = 0; x < 16; x++) {
                List<Object> r = refs.get(x).get();
                assertThat((float[]) r.get(0)).containsExactly(sumOf(x), 10f * x + 1);
                assertThat((float[]) r.get(1)).containsExactly(sumOf(x), 10f * x + 1);
            }
        }
    }

    @Test
    void shouldDetectTwoGraphsBlockingEachOtherInsideMethodsAndFailOnlyTheLaterOne() {
        // Graph 'first' reaches r1 late (through a 300 ms delay actor), graph 'second' reaches it at once. So r0
        // blocks in first's allreduce waiting for r1, while r1 blocks in second's waiting for r0: both threads are
        // held and neither call could ever complete. The later-compiled graph's call fails on every rank; the
        // earlier one completes.
        ActorHandle<Delay> delay = rt.createActor(ActorSpec.of("delay", ctx -> new Delay()));
        GraphBuilder g1 = GraphBuilder.on(rt, "first");
        InputNode<Integer> in1 = g1.input();
        Node<float[]> f0 = g1.bind(r0, Rank::forward, in1);
        Node<float[]> f1 = g1.bind(r1, Rank::forward, g1.bind(delay, Delay::hold, in1));
        CompiledGraph<Integer, List<Object>> first = g1.compileMulti(GraphOptions.defaults(), f0, f1);
        CompiledGraph<Integer, List<Object>> second = methodGraph("second", Rank::forward);

        long t0 = System.nanoTime();
        ExecutionRef<List<Object>> a = first.execute(5);
        ExecutionRef<List<Object>> b = second.execute(7);
        assertThatThrownBy(() -> b.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionFailedException.class)
                .hasMessageContaining("wait for each other")
                .hasMessageContaining("Failed the call of graph 'second'");
        List<Object> ok = a.get(20, TimeUnit.SECONDS);
        assertThat((float[]) ok.get(0)).containsExactly(sumOf(5));
        assertThat((float[]) ok.get(1)).containsExactly(sumOf(5));
        assertThat(System.nanoTime() - t0).as("detected, not timed out after 20 s")
                .isLessThan(TimeUnit.SECONDS.toNanos(10));
        List<Object> next = second.execute(9).get(20, TimeUnit.SECONDS);
        assertThat((float[]) next.get(0)).as("the failed graph runs on").containsExactly(sumOf(9));
    }

    /** A communicator that keeps one sequence space for everyone (as a plain NCCL communicator would). */
    static final class SharedSpace implements Communicator {
        private final Communicator inner;

        SharedSpace(Communicator inner) {
            this.inner = inner;
        }

        @Override
        public String name() {
            return "shared";
        }

        @Override
        public List<ActorHandle<?>> members() {
            return inner.members();
        }

        @Override
        public CollectiveHandle start(CollectiveKind kind, ReduceOp op, int rank, Object buffer) {
            return inner.start(kind, op, rank, buffer);
        }

        @Override
        public CollectiveHandle startInPlace(ReduceOp op, int rank, Object buffer) {
            return inner.startInPlace(op, rank, buffer);
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    @Test
    void shouldRefuseASecondGraphOnACommunicatorWithOneSequenceSpace() {
        // A test double wrapping the CPU communicator: it stands for an implementation without per-graph spaces.
        SharedSpace shared = new SharedSpace(comm);
        GraphBuilder g1 = GraphBuilder.on(rt, "one");
        InputNode<Integer> in1 = g1.input();
        List<Node<float[]>> s1 = g1.allreduce(shared, ReduceOp.SUM,
                List.of(g1.bind(r0, Rank::make, in1), g1.bind(r1, Rank::make, in1)));
        CompiledGraph<Integer, List<Object>> one = g1.compileMulti(GraphOptions.defaults(), s1.get(0), s1.get(1));
        GraphBuilder g2 = GraphBuilder.on(rt, "two");
        InputNode<Integer> in2 = g2.input();
        List<Node<float[]>> s2 = g2.allreduce(shared, ReduceOp.SUM,
                List.of(g2.bind(r0, Rank::make, in2), g2.bind(r1, Rank::make, in2)));
        assertThatThrownBy(() -> g2.compileMulti(GraphOptions.defaults(), s2.get(0), s2.get(1)))
                .isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("communicator 'shared' is already used by the collective nodes of graph 'one'")
                .hasMessageContaining("would be paired");
        assertThat((float[]) one.execute(3).get().get(0)).containsExactly(sumOf(3));
        one.close();
        try (CompiledGraph<Integer, List<Object>> two = g2.compileMulti(GraphOptions.defaults(), s2.get(0),
                s2.get(1))) {
            assertThat((float[]) two.execute(4).get().get(1)).as("free again once 'one' closed")
                    .containsExactly(sumOf(4));
        }
    }
}
