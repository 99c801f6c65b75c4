package io.stoker.runtime.graph;

import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.graph.Actors.Adder;
import io.stoker.runtime.graph.Actors.Recorder;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GraphExecutionTest {
    private StokerRuntime rt;

    @BeforeEach
    void setUp() {
        rt = StokerRuntime.create();
    }

    @AfterEach
    void tearDown() {
        rt.close();
    }

    private ActorHandle<Adder> adder(String name, int amount) {
        return rt.createActor(ActorSpec.of(name, ctx -> new Adder(amount)));
    }

    @Test
    void shouldRunAChainOfThreeActorsInOrder() {
        ActorHandle<Adder> a = adder("a", 1);
        ActorHandle<Adder> b = adder("b", 10);
        ActorHandle<Adder> c = adder("c", 100);
        GraphBuilder g = GraphBuilder.on(rt);
        InputNode<Integer> in = g.input();
        Node<Integer> out = in.to(a, Adder::add).to(b, Adder::add).to(c, Adder::add);
        try (CompiledGraph<Integer, Integer> cg = g.compile(out)) {
            for (int i = 0; i < 500; i++) {
                assertThat(cg.execute(i).get()).isEqualTo(i + 111);
            }
        }
        assertThat(a.call(Adder::calls).join()).isEqualTo(500);
    }

    @Test
    void shouldFanOutAndFanIn() {
        ActorHandle<Adder> a = adder("a", 1);
        ActorHandle<Adder> b = adder("b", 2);
        ActorHandle<Adder> join = adder("join", 0);
        GraphBuilder g = GraphBuilder.on(rt);
        InputNode<Integer> in = g.input();
        Node<Integer> left = g.bind(a, Adder::add, in);
        Node<Integer> right = g.bind(b, Adder::add, in);
        Node<Integer> both = g.bind(join, Adder::sum, left, right);
        try (CompiledGraph<Integer, Integer> cg = g.compile(both)) {
            for (int i = 0; i < 200; i++) {
                assertThat(cg.execute(i).get()).isEqualTo(2 * i + 3);
            }
        }
    }

    @Test
    void shouldReturnSeveralOutputsInOrder() {
        ActorHandle<Adder> a = adder("a", 1);
        ActorHandle<Adder> b = adder("b", 2);
        GraphBuilder g = GraphBuilder.on(rt);
        InputNode<Integer> in = g.input();
        Node<Integer> x = g.bind(a, Adder::add, in);
        Node<Integer> y = g.bind(b, Adder::add, x);
        try (CompiledGraph<Integer, List<Object>> cg = g.compileMulti(GraphOptions.defaults(), y, x)) {
            assertThat(cg.execute(5).get()).containsExactly(8, 6);
            assertThat(cg.execute(7).get()).containsExactly(10, 8);
        }
    }

    @Test
    void shouldSplitAMethodsSeveralReturnValues() {
        ActorHandle<Adder> div = adder("div", 7);
        ActorHandle<Adder> a = adder("a", 1000);
        GraphBuilder g = GraphBuilder.on(rt);
        InputNode<Integer> in = g.input();
        Node<Object[]> qr = g.bind(div, Adder::divmod, in);
        Node<Integer> q = qr.part(0, Integer.class);
        Node<Integer> r = qr.part(1, Integer.class);
        Node<Integer> qPlus = g.bind(a, Adder::add, q);
        try (CompiledGraph<Integer, List<Object>> cg = g.compileMulti(GraphOptions.defaults(), qPlus, r)) {
            assertThat(cg.execute(45).get()).containsExactly(1006, 3);
        }
    }

    @Test
    void shouldRunTheSameActorTwiceInBindOrder() {
        List<String> log = new ArrayList<>();
        ActorHandle<Recorder> a = rt.createActor(ActorSpec.of("a", ctx -> new Recorder("a", log)));
        ActorHandle<Recorder> b = rt.createActor(ActorSpec.of("b", ctx -> new Recorder("b", log)));
        GraphBuilder g = GraphBuilder.on(rt);
        InputNode<Integer> in = g.input();
        Node<Integer> first = g.bind(a, Recorder::record, in);
        Node<Integer> mid = g.bind(b, Recorder::record, first);
        Node<Integer> again = g.bind(a, Recorder::record, mid);
        try (CompiledGraph<Integer, Integer> cg = g.compile(again)) {
            assertThat(cg.execute(1).get()).isEqualTo(1);
            assertThat(cg.execute(2).get()).isEqualTo(2);
        }
        assertThat(log).containsExactly("a:1", "b:1", "a:1", "a:2", "b:2", "a:2");
    }

    @Test
    void shouldRunFunctionNodesOnActorsAndOnTheFunctionActor() {
        ActorHandle<Adder> a = adder("a", 1);
        GraphBuilder g = GraphBuilder.on(rt);
        InputNode<Integer> in = g.input();
        Node<Integer> doubled = in.map(x -> x * 2);               // input only: hosted by its consumer's actor
        Node<Integer> plus = g.bind(a, Adder::add, doubled);
        Node<String> text = g.function((Integer p, Integer d) -> p + "/" + d, plus, doubled);
        try (CompiledGraph<Integer, String> cg = g.compile(text)) {
            assertThat(cg.execute(4).get()).isEqualTo("9/8");
            assertThat(cg.actors()).extracting(ActorHandle::name).containsExactly("a");
        }
        GraphBuilder only = GraphBuilder.on(rt);
        InputNode<Integer> in2 = only.input();
        Node<Integer> sq = in2.map(x -> x * x);
        try (CompiledGraph<Integer, Integer> cg = only.compile(sq)) {
            assertThat(cg.execute(9).get()).isEqualTo(81);
            assertThat(cg.actors()).singleElement().extracting(ActorHandle::name).asString()
                    .startsWith("stoker-functions");
        }
    }

    @Test
    void shouldReadPositionalAndNamedInputFields() {
        ActorHandle<Adder> a = adder("a", 0);
        GraphBuilder g = GraphBuilder.on(rt);
        InputNode<Args> in = g.input();
        Node<Integer> x = in.arg(0, Integer.class);
        Node<Integer> y = in.arg(1, Integer.class);
        Node<Integer> k = in.field("k", Integer.class);
        Node<Integer> s = g.bind(a, Adder::sum3, x, y, k);
        try (CompiledGraph<Args, Integer> cg = g.compile(s)) {
            assertThat(cg.execute(Args.of(1, 2).with("k", 30)).get()).isEqualTo(33);
        }
        record Pair(int left, int right) {
        }
        GraphBuilder g2 = GraphBuilder.on(rt);
        InputNode<Object> in2 = g2.input();
        Node<Integer> l = in2.field("left", Integer.class);
        Node<Integer> r = in2.field("right", Integer.class);
        try (CompiledGraph<Object, Integer> cg = g2.compile(g2.bind(a, Adder::sum, l, r))) {
            assertThat(cg.execute(new Pair(4, 5)).get()).isEqualTo(9);
            assertThat(cg.execute(Map.of("left", 1, "right", 2)).get()).isEqualTo(3);
        }
    }

    @Test
    void shouldFailOnlyTheExecutionWhoseInputLacksAField() {
        ActorHandle<Adder> a = adder("a", 0);
        GraphBuilder g = GraphBuilder.on(rt);
        InputNode<Args> in = g.input();
        try (CompiledGraph<Args, Integer> cg = g.compile(g.bind(a, Adder::sum, in.arg(0), in.arg(1)))) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> cg.execute(Args.of(1)).get())
                    .isInstanceOf(ExecutionFailedException.class)
                    .hasMessageContaining("arg(1) is missing")
                    .hasMessageContaining("a.sum");
            assertThat(cg.execute(Args.of(1, 2)).get()).isEqualTo(3);
        }
    }

    @Test
    void shouldPassNullValuesThrough() {
        ActorHandle<Adder> a = adder("a", 0);
        GraphBuilder g = GraphBuilder.on(rt);
        InputNode<Integer> in = g.input();
        Node<String> n = g.bind(a, Adder::nothing, in);
        Node<String> m = n.map(s -> s == null ? "was null" : s);
        try (CompiledGraph<Integer, String> cg = g.compile(m)) {
            assertThat(cg.execute(1).get()).isEqualTo("was null");
        }
    }

    @Test
    void shouldRunOrderingOnlyDependenciesFirst() {
        List<String> log = new ArrayList<>();
        ActorHandle<Recorder> a = rt.createActor(ActorSpec.of("a", ctx -> new Recorder("a", log)));
        ActorHandle<Recorder> b = rt.createActor(ActorSpec.of("b", ctx -> new Recorder("b", log)));
        ActorHandle<Adder> j = adder("j", 0);
        GraphBuilder g = GraphBuilder.on(rt);
        InputNode<Integer> in = g.input();
        Node<Integer> ra = g.bind(a, Recorder::record, in);
        Node<Integer> rb = g.bind(b, Recorder::record, in).after(ra);
        Node<Integer> out = g.bind(j, Adder::sum, ra, rb);
        try (CompiledGraph<Integer, Integer> cg = g.compile(out)) {
            for (int i = 0; i < 50; i++) {
                cg.execute(i).get();
            }
        }
        for (int i = 0; i < 50; i++) {
            assertThat(log.indexOf("a:" + i)).isLessThan(log.indexOf("b:" + i));
        }
    }

    @Test
    void shouldPassArrowBatchesWithoutCopying() {
        ActorHandle<Adder> a = adder("a", 0);
        GraphBuilder g = GraphBuilder.on(rt);
        InputNode<VectorSchemaRoot> in = g.input();
        Node<VectorSchemaRoot> same = g.bindN(a, "inspect", (actor, args) -> (VectorSchemaRoot) args[0], List.of(in));
        try (BufferAllocator alloc = new RootAllocator();
             IntVector v = new IntVector("x", alloc);
             CompiledGraph<VectorSchemaRoot, VectorSchemaRoot> cg = g.compile(same)) {
            v.allocateNew(3);
            v.set(0, 7);
            v.set(1, 8);
            v.set(2, 9);
            v.setValueCount(3);
            VectorSchemaRoot root = VectorSchemaRoot.of(v);
            VectorSchemaRoot back = cg.execute(root).get();
            assertThat(back).isSameAs(root);
            assertThat(((IntVector) back.getVector("x")).get(2)).isEqualTo(9);
            assertThat(back.getVector("x").getDataBuffer().memoryAddress())
                    .isEqualTo(v.getDataBuffer().memoryAddress());
        }
    }

    @Test
    void shouldExportRecentExecutionsAsChromeTrace() throws Exception {
        ActorHandle<Adder> a = adder("a", 1);
        ActorHandle<Adder> b = adder("b", 1);
        GraphBuilder g = GraphBuilder.on(rt, "traced");
        InputNode<Integer> in = g.input();
        try (CompiledGraph<Integer, Integer> cg = g.compile(in.to(a, Adder::add).to(b, Adder::add))) {
            for (int i = 0; i < 5; i++) {
                cg.execute(i).get();
            }
            java.io.StringWriter out = new java.io.StringWriter();
            cg.exportChromeTrace(out);
            com.fasterxml.jackson.databind.JsonNode root = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(out.toString());
            List<String> spans = new ArrayList<>();
            for (com.fasterxml.jackson.databind.JsonNode e : root.get("traceEvents")) {
                if ("X".equals(e.get("ph").asText())) {
                    assertThat(e.get("dur").asDouble()).isGreaterThanOrEqualTo(0);
                    spans.add(e.get("name").asText() + "@" + e.get("args").get("execution").asLong());
                }
            }
            assertThat(spans).contains("a.add@0", "b.add@0", "a.add@4", "b.add@4", "execution 4@4");
            assertThat(out.toString()).contains("\"thread_name\"").contains("actor a");
        }
    }

    @Test
    void shouldReportTimingsForEachExecution() {
        ActorHandle<Adder> a = adder("a", 1);
        ActorHandle<Adder> b = adder("b", 1);
        GraphBuilder g = GraphBuilder.on(rt);
        InputNode<Integer> in = g.input();
        try (CompiledGraph<Integer, Integer> cg = g.compile(in.to(a, Adder::add).to(b, Adder::add))) {
            ExecutionRef<Integer> ref = cg.execute(1);
            org.assertj.core.api.Assertions.assertThatThrownBy(ref::timings).isInstanceOf(IllegalStateException.class);
            ref.get();
            ExecutionTimings t = ref.timings();
            assertThat(t.totalNanos()).isPositive();
            assertThat(t.computeNanos()).isPositive().isLessThanOrEqualTo(t.totalNanos());
            assertThat(t.queueNanos() + t.computeNanos() + t.channelNanos()).isLessThanOrEqualTo(t.totalNanos());
        }
    }

    @Test
    void shouldBindConstantArgumentsWithReadableLabels() {
        ActorHandle<Adder> a = adder("a", 0);
        GraphBuilder g = GraphBuilder.on(rt, "constants");
        InputNode<Integer> in = g.input();
        Node<Integer> sum = g.bind(a, Adder::sum3, in, g.constant(10), g.constant("hundred", 100));
        Node<Integer> second = g.bind(a, Adder::sum, sum, g.constant(Args.of(5, 6)).part(1));
        Node<Integer> scaled = g.function((Integer x, Integer k) -> x * k, second, g.constant(2));
        assertThat(sum.label()).as("a method reference keeps its name, unlike a capturing lambda")
                .isEqualTo("a.sum3");
        try (CompiledGraph<Integer, Integer> cg = g.compile(scaled)) {
            for (int x = 0; x < 100; x++) {
                assertThat(cg.execute(x).get()).isEqualTo((x + 110 + 6) * 2);
            }
            assertThat(cg.toDot()).contains("\"const 10\"").contains("\"hundred\"").contains("\"const 2\"")
                    .contains("\"a.sum3\"");
            assertThat(cg.channelCount()).as("constants need no channels").isEqualTo(3);
        }
    }
}
