package io.stoker.runtime.graph;

import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.comm.CpuCommunicator;
import io.stoker.runtime.comm.ReduceOp;
import io.stoker.runtime.graph.Actors.Adder;
import io.stoker.runtime.graph.Actors.Vec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GraphValidationTest {
    private StokerRuntime rt;
    private ActorHandle<Adder> a;
    private ActorHandle<Adder> b;

    @BeforeEach
    void setUp() {
        rt = StokerRuntime.create();
        a = rt.createActor(ActorSpec.of("a", ctx -> new Adder(1)));
        b = rt.createActor(ActorSpec.of("b", ctx -> new Adder(2)));
    }

    @AfterEach
    void tearDown() {
        rt.close();
    }

    @Test
    void shouldRejectAGraphWithoutInput() {
        GraphBuilder g = GraphBuilder.on(rt, "no-input");
        Node<Integer> c = g.bind(a, Adder::calls);
        assertThatThrownBy(() -> g.compile(c)).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("graph 'no-input' has no input node");
        GraphBuilder g2 = GraphBuilder.on(rt, "orphan");
        InputNode<Integer> in = g2.input();
        Node<Integer> orphan = g2.bind(a, Adder::calls);
        Node<Integer> joined = g2.bind(b, Adder::sum, orphan, in);
        assertThatThrownBy(() -> g2.compile(joined)).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("node a.calls (#1) has no input");
    }

    @Test
    void shouldRejectSeveralInputs() {
        GraphBuilder g = GraphBuilder.on(rt, "two-inputs");
        InputNode<Integer> x = g.input();
        InputNode<Integer> y = g.input();
        Node<Integer> s = g.bind(a, Adder::sum, x, y);
        assertThatThrownBy(() -> g.compile(s)).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("has 2 input nodes").hasMessageContaining("exactly one input");
    }

    @Test
    void shouldRejectLeafNodesNamingThem() {
        GraphBuilder g = GraphBuilder.on(rt, "leafy");
        InputNode<Integer> in = g.input();
        Node<Integer> used = g.bind(a, Adder::add, in);
        g.bind(b, Adder::add, in);
        assertThatThrownBy(() -> g.compile(used)).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("node b.add (#2) is a leaf");
    }

    @Test
    void shouldRejectCycles() {
        GraphBuilder g = GraphBuilder.on(rt, "cyclic");
        InputNode<Integer> in = g.input();
        Node<Integer> x = g.bind(a, Adder::add, in);
        Node<Integer> y = g.bind(b, Adder::add, x);
        x.after(y);
        assertThatThrownBy(() -> g.compile(y)).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("has a cycle").hasMessageContaining("a.add (#1)")
                .hasMessageContaining("b.add (#2)");
    }

    @Test
    void shouldRejectActorsAlreadyTornDown() {
        ActorHandle<Adder> gone = rt.createActor(ActorSpec.of("gone", ctx -> new Adder(0)));
        gone.close();
        GraphBuilder g = GraphBuilder.on(rt);
        InputNode<Integer> in = g.input();
        Node<Integer> x = g.bind(gone, Adder::add, in);
        assertThatThrownBy(() -> g.compile(x)).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("actor 'gone', which was already torn down (CLOSED)");
    }

    @Test
    void shouldRejectASchedulethatWouldDeadlock() {
        // a runs x then z; b runs y then w. x needs w and w needs ... a's later task: a circular wait.
        GraphBuilder g = GraphBuilder.on(rt, "deadlock");
        InputNode<Integer> in = g.input();
        Node<Integer> y = g.bind(b, Adder::add, in);         // b #1
        Node<Integer> z = g.bind(a, Adder::add, in);         // a #1
        Node<Integer> w = g.bind(b, Adder::add, z);          // b #2: waits for a's z
        Node<Integer> x = g.bind(a, Adder::sum, y, w);       // a #2: waits for b's w
        // Now force a to run something needing w before z: bind order on a is z then x, fine; make b's y wait for x.
        y.after(x);
        assertThatThrownBy(() -> g.compile(x)).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("cycle");
        GraphBuilder g2 = GraphBuilder.on(rt, "order-deadlock");
        InputNode<Integer> in2 = g2.input();
        Node<Integer> a1 = g2.bind(a, Adder::add, in2);      // a: first task
        Node<Integer> b1 = g2.bind(b, Adder::add, in2);      // b: first task
        Node<Integer> a2 = g2.bind(a, Adder::add, b1);       // a: second, needs b1
        Node<Integer> b2 = g2.bind(b, Adder::add, a1);       // b: second, needs a1
        a1.after(b2);                                        // a's FIRST task waits for b's SECOND
        Node<Integer> out = g2.bind(a, Adder::sum, a2, b2);
        assertThatThrownBy(() -> g2.compile(out)).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("cycle");
    }

    @Test
    void shouldRejectTasksBoundOnOneActorInAnOrderThatWaitsInACircle() {
        // Acyclic data flow, but each actor's first task needs the other actor's second task.
        GraphBuilder g = GraphBuilder.on(rt, "schedule");
        InputNode<Integer> in = g.input();
        Node<Integer> bFirst = g.bind(b, Adder::add, in);
        Node<Integer> aFirstPlaceholder = g.bind(a, Adder::add, in);
        Node<Integer> bSecond = g.bind(b, Adder::add, aFirstPlaceholder);
        Node<Integer> aSecond = g.bind(a, Adder::add, bFirst);
        // a: [aFirstPlaceholder, aSecond]; b: [bFirst, bSecond] -> fine. Now add a third on a that b's first needs:
        Node<Integer> aThird = g.bind(a, Adder::add, bSecond);
        bFirst.after(aThird);
        Node<Integer> out = g.bind(a, Adder::sum, aSecond, aThird);
        assertThatThrownBy(() -> g.compile(out)).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("schedule deadlock: tasks on the same actor run in bind order")
                .hasMessageContaining("runs after, on actor 'a'")
                .hasMessageContaining("b.add (#1) waits for a.add (#5)");
    }

    @Test
    void shouldRejectCollectivesEnteredInDifferentOrders() {
        ActorHandle<Vec> r0 = rt.createActor(ActorSpec.of("r0", ctx -> new Vec(0)));
        ActorHandle<Vec> r1 = rt.createActor(ActorSpec.of("r1", ctx -> new Vec(1)));
        CpuCommunicator comm = CpuCommunicator.create("pair", List.of(r0, r1));
        GraphBuilder g = GraphBuilder.on(rt, "crossed");
        InputNode<Integer> in = g.input();
        Node<float[]> x0 = g.bind(r0, Vec::make, in);
        Node<float[]> x1 = g.bind(r1, Vec::make, in);
        List<Node<float[]>> first = g.allreduce(comm, ReduceOp.SUM, List.of(x0, x1));
        // Second collective's rank-1 input is computed on r1 from the FIRST collective's rank-0 result... fine; but
        // make rank 0 enter the second collective before the first by an ordering edge.
        Node<float[]> y0 = g.bind(r0, Vec::identity, x0);
        Node<float[]> y1 = g.bind(r1, Vec::identity, first.get(1));
        List<Node<float[]>> second = g.allgather(comm, List.of(y0, y1));
        first.get(0).after(second.get(0));
        Node<List<Float>> out = g.bind(r0, Vec::toList, second.get(0));
        assertThatThrownBy(() -> g.compileMulti(GraphOptions.defaults(), out, first.get(0), first.get(1),
                second.get(1))).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("schedule deadlock: collectives are entered in an order")
                .hasMessageContaining("r0.allreduce#0(pair, SUM) (#3) waits for r0.allgather#1(pair) (#7)");
    }

    @Test
    void shouldRejectAnOutputThatIsTheInput() {
        GraphBuilder g = GraphBuilder.on(rt, "identity");
        InputNode<Integer> in = g.input();
        assertThatThrownBy(() -> g.compile(in)).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("output 0 input (#0) is the input itself");
    }

    @Test
    void shouldRejectNodesFromAnotherBuilder() {
        GraphBuilder g1 = GraphBuilder.on(rt);
        GraphBuilder g2 = GraphBuilder.on(rt);
        InputNode<Integer> in1 = g1.input();
        g2.input();
        assertThatThrownBy(() -> g2.bind(a, Adder::add, in1)).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("belongs to another graph builder");
    }

    @Test
    void shouldRejectCollectiveInputsFromNonMembers() {
        ActorHandle<Vec> r0 = rt.createActor(ActorSpec.of("r0", ctx -> new Vec(0)));
        ActorHandle<Vec> r1 = rt.createActor(ActorSpec.of("r1", ctx -> new Vec(1)));
        ActorHandle<Vec> outsider = rt.createActor(ActorSpec.of("outsider", ctx -> new Vec(2)));
        CpuCommunicator comm = CpuCommunicator.create("pair", List.of(r0, r1));
        GraphBuilder g = GraphBuilder.on(rt);
        InputNode<Integer> in = g.input();
        Node<float[]> x0 = g.bind(r0, Vec::make, in);
        Node<float[]> x2 = g.bind(outsider, Vec::make, in);
        assertThatThrownBy(() -> g.allreduce(comm, ReduceOp.SUM, List.of(x0, x2)))
                .isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("actor 'outsider', which is not a member of communicator 'pair'");
        assertThatThrownBy(() -> g.allreduce(comm, ReduceOp.SUM, List.of(x0)))
                .hasMessageContaining("needs 2 inputs (one per rank) but got 1");
    }

    @Test
    void shouldDescribeTheGraphAndSchedulesInDot() {
        GraphBuilder g = GraphBuilder.on(rt, "dot");
        InputNode<Integer> in = g.input();
        Node<Integer> x = g.bind(a, Adder::add, in);
        Node<Integer> y = g.bind(b, Adder::add, x);
        Node<Integer> z = g.bind(a, Adder::add, y);
        try (CompiledGraph<Integer, Integer> cg = g.compile(z)) {
            String dot = cg.toDot();
            assertThat(dot).startsWith("digraph \"dot\"").contains("label=\"actor a\"").contains("label=\"b.add\"")
                    .contains("n1 -> n2;").contains("n2 -> n3;").contains("n3 -> out0;");
            String sched = cg.scheduleToDot();
            assertThat(sched).contains("0: a.add").contains("1: a.add").contains("s1 -> s3 [style=bold")
                    .contains("caller -> s1 [style=dashed, label=\"ring\"]");
            assertThat(cg.channelCount()).isEqualTo(3);
        }
    }

    @Test
    void shouldRejectMisusedConstantsNamingTheNode() {
        GraphBuilder g = GraphBuilder.on(rt, "consts");
        InputNode<Integer> in = g.input();
        Node<Integer> onlyConstants = g.bind(a, Adder::add, g.constant(3));
        Node<Integer> fine = g.bind(a, Adder::add, in);
        assertThatThrownBy(() -> g.compileMulti(GraphOptions.defaults(), fine, onlyConstants))
                .isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("node a.add (#2) takes only constants, so nothing would start it");
        GraphBuilder g2 = GraphBuilder.on(rt, "const-out");
        g2.input();
        Node<Integer> c = g2.constant(7);
        assertThatThrownBy(() -> g2.compile(c)).hasMessageContaining("output 0 const 7 (#1) is a constant");
        GraphBuilder g3 = GraphBuilder.on(rt, "const-part");
        InputNode<Integer> in3 = g3.input();
        Node<Integer> bad = g3.bind(a, Adder::sum, in3, g3.constant(java.util.List.of(1, 2)).part(5));
        assertThatThrownBy(() -> g3.compile(bad)).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("argument 1 of a.sum (#3)").hasMessageContaining("[5] is missing");
        GraphBuilder g4 = GraphBuilder.on(rt, "const-after");
        InputNode<Integer> in4 = g4.input();
        Node<Integer> ordered = g4.bind(a, Adder::add, in4).after(g4.constant(1));
        assertThatThrownBy(() -> g4.compile(ordered)).hasMessageContaining("is ordered after constant const 1");
    }
}
