package io.stoker.runtime.graph;

import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorDiedException;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.graph.Actors.Adder;
import io.stoker.runtime.graph.Actors.Gate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GraphFailureTest {
    private StokerRuntime rt;

    @BeforeEach
    void setUp() {
        rt = StokerRuntime.create();
    }

    @AfterEach
    void tearDown() {
        rt.close();
    }

    @Test
    void shouldFailOnlyTheExecutionWhoseTaskThrewAndSkipDownstream() {
        ActorHandle<Adder> a = rt.createActor(ActorSpec.of("checker", ctx -> new Adder(0)));
        ActorHandle<Adder> b = rt.createActor(ActorSpec.of("after", ctx -> new Adder(1)));
        GraphBuilder g = GraphBuilder.on(rt, "errors");
        InputNode<Integer> in = g.input();
        Node<Integer> out = g.bind(a, Adder::failIfNegative, in).to(b, Adder::add);
        try (CompiledGraph<Integer, Integer> cg = g.compile(out)) {
            assertThat(cg.execute(1).get()).isEqualTo(2);
            assertThatThrownBy(() -> cg.execute(-5).get())
                    .isInstanceOf(ExecutionFailedException.class)
                    .hasMessageContaining("graph 'errors' execution 1")
                    .hasMessageContaining("actor 'checker'")
                    .hasMessageContaining("method 'failIfNegative'")
                    .hasMessageContaining("negative input -5")
                    .hasCauseInstanceOf(IllegalArgumentException.class)
                    .satisfies(e -> {
                        ExecutionFailedException f = (ExecutionFailedException) e;
                        assertThat(f.actorName()).isEqualTo("checker");
                        assertThat(f.methodName()).isEqualTo("failIfNegative");
                        assertThat(f.execution()).isEqualTo(1);
                    });
            assertThat(cg.execute(41).get()).isEqualTo(42);
        }
        assertThat(b.call(Adder::calls).join()).as("downstream skipped the failed execution").isEqualTo(2);
    }

    @Test
    void shouldFailPendingAndLaterExecutionsFastWhenAnActorDies() throws Exception {
        ActorHandle<Adder> a = rt.createActor(ActorSpec.of("a", ctx -> new Adder(1)));
        Gate state = new Gate(); // held by the test: an eager call to a gate blocked in pass() would wait forever
        ActorHandle<Gate> gate = rt.createActor(ActorSpec.of("gate", ctx -> state));
        GraphBuilder g = GraphBuilder.on(rt, "dying");
        InputNode<Integer> in = g.input();
        Node<Integer> out = g.bind(a, Adder::add, in).to(gate, Gate::pass);
        CompiledGraph<Integer, Integer> cg = g.compile(out);
        ExecutionRef<Integer> first = cg.execute(1);
        ExecutionRef<Integer> second = cg.execute(2);
        CompletableFuture<Integer> third = cg.executeAsync(3);
        while (state.entered.get() == 0) {
            Thread.sleep(1);
        }
        a.kill(new IllegalStateException("simulated crash"));
        a.terminationFuture().get(10, TimeUnit.SECONDS);
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> second.get(30, TimeUnit.SECONDS)).isInstanceOf(GraphUnavailableException.class)
                .hasMessageContaining("actor 'a' died").hasMessageContaining("simulated crash");
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)).as("fails fast, not by timeout")
                .isLessThan(5);
        assertThatThrownBy(() -> third.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(GraphUnavailableException.class);
        assertThatThrownBy(() -> cg.execute(4)).isInstanceOf(GraphUnavailableException.class)
                .hasMessageContaining("actor 'a' died");
        state.open();
        while (!first.isReady()) { // it had passed the dead actor; the gate still delivers it
            Thread.sleep(1);
        }
        assertThat(first.get(10, TimeUnit.SECONDS)).as("a result that arrived is still delivered after the failure")
                .isEqualTo(2);
        assertThatThrownBy(() -> a.call(Adder::calls).join()).hasCauseInstanceOf(ActorDiedException.class);
        cg.close();
    }

    @Test
    void shouldTimeOutAGetNamingTheBusyActorAndStillDeliverLater() {
        Gate state = new Gate(); // held by the test: an eager call to a gate blocked in pass() would wait forever
        ActorHandle<Gate> gate = rt.createActor(ActorSpec.of("slow", ctx -> state));
        GraphBuilder g = GraphBuilder.on(rt, "slow");
        InputNode<Integer> in = g.input();
        try (CompiledGraph<Integer, Integer> cg = g.compile(g.bind(gate, Gate::pass, in))) {
            ExecutionRef<Integer> ref = cg.execute(7);
            assertThatThrownBy(() -> ref.get(100, TimeUnit.MILLISECONDS))
                    .isInstanceOf(ExecutionTimeoutException.class)
                    .hasMessageContaining("execution 0 did not complete within 100 ms")
                    .hasMessageContaining("slow running slow.pass");
            state.open();
            assertThat(ref.get(10, TimeUnit.SECONDS)).isEqualTo(7);
        }
    }

    @Test
    void shouldFailFastWhenMaxInFlightIsExceeded() {
        Gate state = new Gate(); // held by the test: an eager call to a gate blocked in pass() would wait forever
        ActorHandle<Gate> gate = rt.createActor(ActorSpec.of("gate", ctx -> state));
        GraphBuilder g = GraphBuilder.on(rt, "bounded");
        InputNode<Integer> in = g.input();
        GraphOptions opts = GraphOptions.defaults().withMaxInFlight(4).withBackpressure(BackpressurePolicy.FAIL);
        try (CompiledGraph<Integer, Integer> cg = g.compile(g.bind(gate, Gate::pass, in), opts)) {
            List<ExecutionRef<Integer>> refs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                refs.add(cg.execute(i));
            }
            assertThatThrownBy(() -> cg.execute(99)).isInstanceOf(CapacityExceededException.class)
                    .hasMessageContaining("has 4 executions in flight (maxInFlight=4")
                    .hasMessageContaining("fetch results with get()");
            state.open();
            assertThat(refs.get(0).get()).isEqualTo(0);
            assertThat(cg.execute(4).get()).as("a fetched result frees a slot").isEqualTo(4);
            for (int i = 1; i < 4; i++) {
                assertThat(refs.get(i).get()).isEqualTo(i);
            }
        }
    }

    @Test
    void shouldWaitForCapacityThenGiveUpWithAClearError() {
        Gate state = new Gate(); // held by the test: an eager call to a gate blocked in pass() would wait forever
        ActorHandle<Gate> gate = rt.createActor(ActorSpec.of("gate", ctx -> state));
        GraphBuilder g = GraphBuilder.on(rt, "waiting");
        InputNode<Integer> in = g.input();
        GraphOptions opts = GraphOptions.defaults().withMaxInFlight(2).withSubmitTimeoutMillis(150);
        try (CompiledGraph<Integer, Integer> cg = g.compile(g.bind(gate, Gate::pass, in), opts)) {
            ExecutionRef<Integer> r0 = cg.execute(0);
            ExecutionRef<Integer> r1 = cg.execute(1);
            assertThatThrownBy(() -> cg.execute(2)).isInstanceOf(CapacityExceededException.class)
                    .hasMessageContaining("after waiting 150 ms");
            state.open();
            assertThat(r0.get()).isEqualTo(0);
            assertThat(r1.get()).isEqualTo(1);
            assertThat(cg.execute(2).get()).isEqualTo(2);
        }
    }

    @Test
    void shouldRefuseASecondFetchOfTheSameResult() {
        ActorHandle<Adder> a = rt.createActor(ActorSpec.of("a", ctx -> new Adder(1)));
        GraphBuilder g = GraphBuilder.on(rt);
        InputNode<Integer> in = g.input();
        try (CompiledGraph<Integer, Integer> cg = g.compile(g.bind(a, Adder::add, in))) {
            long seq = cg.submit(1);
            assertThat(cg.await(seq)).isEqualTo(2);
            assertThatThrownBy(() -> cg.await(seq)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("already fetched");
        }
    }

    @Test
    void shouldTearDownAndLetTheSameActorsServeANewGraph() {
        ActorHandle<Adder> a = rt.createActor(ActorSpec.of("a", ctx -> new Adder(1)));
        Gate state = new Gate(); // held by the test: an eager call to a gate blocked in pass() would wait forever
        ActorHandle<Gate> gate = rt.createActor(ActorSpec.of("gate", ctx -> state));
        GraphBuilder g = GraphBuilder.on(rt, "first");
        InputNode<Integer> in = g.input();
        CompiledGraph<Integer, Integer> first = g.compile(g.bind(a, Adder::add, in).to(gate, Gate::pass));
        ExecutionRef<Integer> pending = first.execute(1);
        CompletableFuture<Void> closing = CompletableFuture.runAsync(first::close);
        state.open();
        closing.join();
        assertThat(first.isClosed()).isTrue();
        assertThatThrownBy(() -> first.execute(2)).isInstanceOf(GraphUnavailableException.class)
                .hasMessageContaining("graph 'first' was closed");
        try {
            pending.get(5, TimeUnit.SECONDS); // may have finished before teardown
        } catch (GraphUnavailableException expected) {
            assertThat(expected).hasMessageContaining("closed");
        }
        GraphBuilder g2 = GraphBuilder.on(rt, "second");
        InputNode<Integer> in2 = g2.input();
        try (CompiledGraph<Integer, Integer> second = g2.compile(g2.bind(a, Adder::add, in2).to(gate, Gate::pass))) {
            assertThat(second.execute(10).get()).isEqualTo(11);
        }
        first.close(); // idempotent
    }

    @Test
    void shouldFailActorCreationNamingTheActorWhenItsFactoryThrows() {
        assertThatThrownBy(() -> rt.createActor(ActorSpec.of("broken", ctx -> {
            throw new IllegalStateException("model file missing");
        }))).isInstanceOf(ActorDiedException.class)
                .hasMessageContaining("actor 'broken' failed to start")
                .hasMessageContaining("model file missing");
    }
}
