package io.stoker.runtime.graph;

import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.graph.Actors.Adder;
import io.stoker.runtime.graph.Actors.Gate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Fast failure of multi-output executions, per-output refs, and giving a result slot back (discard, cancel). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FastFailureTest {
    private StokerRuntime rt;
    private Gate slowState;
    private ActorHandle<Adder> fast;
    private ActorHandle<Gate> slow;

    @BeforeEach
    void setUp() {
        rt = StokerRuntime.create();
        slowState = new Gate(); // held by the test: it opens the gate
        fast = rt.createActor(ActorSpec.of("fast", ctx -> new Adder(0)));
        slow = rt.createActor(ActorSpec.of("slow", ctx -> slowState));
    }

    @AfterEach
    void tearDown() {
        slowState.open();
        rt.close();
    }

    /** Output 0: fast.failIfNegative(x); output 1: slow.pass(x), which waits for the gate. */
    private CompiledGraph<Integer, List<Object>> twoOutputs(GraphOptions options) {
        GraphBuilder g = GraphBuilder.on(rt, "two-outputs");
        InputNode<Integer> in = g.input();
        return g.compileMulti(options, g.bind(fast, Adder::failIfNegative, in), g.bind(slow, Gate::pass, in));
    }

    @Test
    void shouldRaiseAtOnceWhenOneOutputFailsWhileAnotherIsStillRunning() {
        try (CompiledGraph<Integer, List<Object>> cg = twoOutputs(GraphOptions.defaults())) {
            ExecutionRef<List<Object>> ref = cg.execute(-3);
            // The gate stays closed: output 1 cannot arrive, so only fast failure can end this get.
            assertThatThrownBy(() -> ref.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionFailedException.class)
                    .hasMessageContaining("task fast.failIfNegative")
                    .hasMessageContaining("negative input -3")
                    .satisfies(e -> assertThat(((ExecutionFailedException) e).taskLabel())
                            .isEqualTo("fast.failIfNegative"));
            slowState.open();
            assertThat(cg.execute(4).get()).as("the next execution is unaffected").containsExactly(4, 4);
        }
    }

    @Test
    void shouldFailTheAsyncFutureAtOnceWhenOneOutputFails() throws Exception {
        try (CompiledGraph<Integer, List<Object>> cg = twoOutputs(GraphOptions.defaults())) {
            CompletableFuture<List<Object>> f = cg.executeAsync(-1);
            assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .hasCauseInstanceOf(ExecutionFailedException.class)
                    .hasMessageContaining("task fast.failIfNegative");
            slowState.open();
            assertThat(cg.executeAsync(2).get(20, TimeUnit.SECONDS)).containsExactly(2, 2);
        }
    }

    @Test
    void shouldKeepSucceededOutputsReachableOneByOne() {
        try (CompiledGraph<Integer, List<Object>> cg = twoOutputs(GraphOptions.defaults().withMaxInFlight(1)
                .withBackpressure(BackpressurePolicy.FAIL))) {
            ExecutionRef<List<Object>> ref = cg.execute(-7);
            OutputRef<Integer> failed = ref.output(0);
            OutputRef<Integer> succeeded = ref.output(1);
            assertThatThrownBy(failed::get).isInstanceOf(ExecutionFailedException.class)
                    .hasMessageContaining("task fast.failIfNegative");
            assertThatThrownBy(failed::get).as("each output is fetched once").hasMessageContaining("already fetched");
            assertThat(succeeded.isReady()).isFalse();
            slowState.open();
            assertThat(succeeded.get()).as("the slow output succeeded and is still delivered").isEqualTo(-7);
            assertThatThrownBy(ref::get).as("fetching per output excludes the whole get")
                    .isInstanceOf(IllegalStateException.class);
            assertThat(cg.execute(5).get()).as("every output fetched: the only slot is free again")
                    .containsExactly(5, 5);
            assertThatThrownBy(() -> cg.execute(1).output(2)).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("graph 'two-outputs' has 2 output(s)");
        }
    }

    @Test
    void shouldFreeTheSlotOfADiscardedExecution() {
        GraphBuilder g = GraphBuilder.on(rt, "discard");
        InputNode<Integer> in = g.input();
        GraphOptions opts = GraphOptions.defaults().withMaxInFlight(2).withSubmitTimeoutMillis(5_000);
        try (CompiledGraph<Integer, Integer> cg = g.compile(g.bind(fast, Adder::add, in), opts)) {
            for (int i = 0; i < 100; i++) {
                cg.execute(i).discard(); // never fetched: without discard the third submit would wait forever
            }
            long ticket = cg.submit(1);
            cg.discard(ticket);
            assertThat(cg.execute(7).get()).isEqualTo(7);
            ExecutionRef<Integer> fetched = cg.execute(8);
            assertThat(fetched.get()).isEqualTo(8);
            fetched.discard(); // after a fetch: nothing to free, no double free
            assertThat(cg.execute(9).get()).isEqualTo(9);
        }
    }

    @Test
    void shouldCancelAnExecutionWhoseTaskHasNotStartedAndFreeItsSlot() {
        GraphBuilder g = GraphBuilder.on(rt, "cancel");
        InputNode<Integer> in = g.input();
        Node<Integer> out = g.bind(slow, Gate::pass, in).to(fast, Adder::add);
        GraphOptions opts = GraphOptions.defaults().withMaxInFlight(2).withBackpressure(BackpressurePolicy.FAIL);
        try (CompiledGraph<Integer, Integer> cg = g.compile(out, opts)) {
            ExecutionRef<Integer> running = cg.execute(1);
            ExecutionRef<Integer> queued = cg.execute(2);
            queued.cancel();
            assertThatThrownBy(() -> cg.execute(3)).as("a cancelled execution holds its slot until it has passed")
                    .isInstanceOf(CapacityExceededException.class);
            slowState.open();
            assertThat(running.get()).isEqualTo(1);
            assertThat(cg.execute(4).get(20, TimeUnit.SECONDS)).isEqualTo(4);
            assertThat(slowState.entered.get()).as("the cancelled execution's task never ran").isEqualTo(2);
            assertThat(fast.call(Adder::calls).join()).as("nor did its downstream task").isEqualTo(2);
        }
    }
}
