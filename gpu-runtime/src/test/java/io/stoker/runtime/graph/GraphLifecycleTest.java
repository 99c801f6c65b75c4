package io.stoker.runtime.graph;

import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorDiedException;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.actor.ActorState;
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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Kill, task timeouts, prompt and draining close, and submitters waiting for capacity in parallel. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GraphLifecycleTest {
    /** A method that ignores interruption: it runs until released, however it is asked to stop. */
    static final class Stubborn {
        volatile boolean release;
        final AtomicInteger entered = new AtomicInteger();
        final AtomicInteger returned = new AtomicInteger();

        Integer spin(Integer x) {
            entered.incrementAndGet();
            while (!release) {
                Thread.onSpinWait();
            }
            returned.incrementAndGet();
            return x;
        }
    }

    /** Sleeps for the given milliseconds (interruptibly) and counts its calls. */
    static final class Sleeper {
        final AtomicInteger calls = new AtomicInteger();

        Integer sleep(Integer ms) throws InterruptedException {
            calls.incrementAndGet();
            Thread.sleep(ms);
            return ms;
        }
    }

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
    void shouldFailPendingExecutionsAtOnceWhenTheActorRunningThemIsKilledAndDropItsLateResult() throws Exception {
        Stubborn state = new Stubborn();
        ActorHandle<Stubborn> stuck = rt.createActor(ActorSpec.of("stuck", ctx -> state));
        ActorHandle<Adder> after = rt.createActor(ActorSpec.of("after", ctx -> new Adder(1)));
        GraphBuilder g = GraphBuilder.on(rt, "killed");
        InputNode<Integer> in = g.input();
        CompiledGraph<Integer, Integer> cg = g.compile(g.bind(stuck, Stubborn::spin, in).to(after, Adder::add));
        ExecutionRef<Integer> running = cg.execute(1);
        CompletableFuture<Integer> queued = cg.executeAsync(2);
        while (state.entered.get() == 0) {
            Thread.sleep(1);
        }
        long t0 = System.nanoTime();
        stuck.kill(new IllegalStateException("operator kill"));
        assertThatThrownBy(() -> running.get(20, TimeUnit.SECONDS)).isInstanceOf(GraphUnavailableException.class)
                .hasMessageContaining("actor 'stuck' died").hasMessageContaining("operator kill");
        assertThatThrownBy(() -> queued.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(GraphUnavailableException.class);
        assertThat(System.nanoTime() - t0).as("at once, while the method still runs")
                .isLessThan(TimeUnit.SECONDS.toNanos(5));
        assertThat(state.returned.get()).isZero();
        assertThat(stuck.isAlive()).isFalse();
        assertThatThrownBy(() -> stuck.call(Stubborn::spin, 3).join()).hasCauseInstanceOf(ActorDiedException.class);

        state.release = true; // the method ignored the interrupt; it returns now, and its result must go nowhere
        stuck.terminationFuture().get(20, TimeUnit.SECONDS);
        assertThat(state.returned.get()).isEqualTo(1);
        assertThat(after.call(Adder::calls).join()).as("the killed actor's late result was dropped").isZero();
        assertThat(stuck.state()).isEqualTo(ActorState.DEAD);
        cg.close();
    }

    @Test
    void shouldFailARunningEagerCallAtOnceAndInterruptTheThread() throws Exception {
        Gate state = new Gate();
        ActorHandle<Gate> gate = rt.createActor(ActorSpec.of("gate", ctx -> state));
        CompletableFuture<Integer> call = gate.call(Gate::pass, 5);
        while (state.entered.get() == 0) {
            Thread.sleep(1);
        }
        gate.kill(new IllegalStateException("stop"));
        assertThatThrownBy(() -> call.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(ActorDiedException.class)
                .hasMessageContaining("stop");
        // Gate.pass waits on a latch, which honours interruption: the thread ends without the gate being opened.
        gate.terminationFuture().get(20, TimeUnit.SECONDS);
    }

    @Test
    void shouldKillTheActorOfATaskThatOutlivesTheTaskTimeout() throws Exception {
        ActorHandle<Sleeper> sleeper = rt.createActor(ActorSpec.of("sleeper", ctx -> new Sleeper()));
        GraphBuilder g = GraphBuilder.on(rt, "bounded-tasks");
        InputNode<Integer> in = g.input();
        try (CompiledGraph<Integer, Integer> cg = g.compile(g.bind(sleeper, Sleeper::sleep, in),
                GraphOptions.defaults().withTaskTimeoutMillis(300))) {
            assertThat(cg.execute(10).get()).as("a quick task is unaffected").isEqualTo(10);
            long t0 = System.nanoTime();
            ExecutionRef<Integer> stuck = cg.execute(30_000);
            assertThatThrownBy(() -> stuck.get(20, TimeUnit.SECONDS)).isInstanceOf(GraphUnavailableException.class)
                    .hasMessageContaining("sleeper running sleeper.sleep")
                    .hasMessageContaining("exceeding taskTimeoutMillis=300")
                    .hasRootCauseInstanceOf(TaskTimeoutException.class);
            assertThat(System.nanoTime() - t0).as("failed near the timeout, not after the 30 s task")
                    .isLessThan(TimeUnit.SECONDS.toNanos(10));
            sleeper.terminationFuture().get(20, TimeUnit.SECONDS); // interrupted out of its sleep
            assertThat(sleeper.state()).isEqualTo(ActorState.DEAD);
        }
    }

    @Test
    void shouldCloseWithoutRunningQueuedExecutions() throws Exception {
        Sleeper state = new Sleeper();
        ActorHandle<Sleeper> sleeper = rt.createActor(ActorSpec.of("sleeper", ctx -> state));
        GraphBuilder g = GraphBuilder.on(rt, "queued");
        InputNode<Integer> in = g.input();
        CompiledGraph<Integer, Integer> cg = g.compile(g.bind(sleeper, Sleeper::sleep, in));
        List<ExecutionRef<Integer>> refs = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            refs.add(cg.execute(300));
        }
        while (state.calls.get() == 0) {
            Thread.sleep(1);
        }
        long t0 = System.nanoTime();
        cg.close();
        long closeNanos = System.nanoTime() - t0;
        assertThat(closeNanos).as("close waits for the running 300 ms task at most, not for all ten (3 s)")
                .isLessThan(TimeUnit.MILLISECONDS.toNanos(1_500));
        int failed = 0;
        for (ExecutionRef<Integer> r : refs) {
            try {
                r.get(5, TimeUnit.SECONDS);
            } catch (GraphUnavailableException e) {
                assertThat(e).hasMessageContaining("graph 'queued' was closed");
                failed++;
            }
        }
        assertThat(failed).as("the queued executions failed").isGreaterThanOrEqualTo(8);
        assertThat(state.calls.get()).as("and never ran").isLessThanOrEqualTo(2);
        assertThat(sleeper.call(Sleeper::sleep, 1).get(5, TimeUnit.SECONDS)).as("the actor stays usable").isEqualTo(1);
    }

    @Test
    void shouldDrainSubmittedExecutionsBeforeClosingWhenAsked() throws Exception {
        Sleeper state = new Sleeper();
        ActorHandle<Sleeper> sleeper = rt.createActor(ActorSpec.of("sleeper", ctx -> state));
        GraphBuilder g = GraphBuilder.on(rt, "draining");
        InputNode<Integer> in = g.input();
        CompiledGraph<Integer, Integer> cg = g.compile(g.bind(sleeper, Sleeper::sleep, in));
        List<ExecutionRef<Integer>> refs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            refs.add(cg.execute(40));
        }
        CompletableFuture<Integer> async = cg.executeAsync(41);
        CompletableFuture<Boolean> closing = CompletableFuture.supplyAsync(() -> cg.close(20, TimeUnit.SECONDS));
        while (true) { // submits are accepted until the drain starts, then refused
            try {
                refs.add(cg.execute(40));
            } catch (GraphUnavailableException e) {
                assertThat(e).hasMessageContaining("graph 'draining' is closing");
                break;
            }
            Thread.sleep(1);
        }
        assertThat(closing.get(30, TimeUnit.SECONDS)).as("everything finished before the close").isTrue();
        assertThat(cg.isClosed()).isTrue();
        for (ExecutionRef<Integer> r : refs) {
            assertThat(r.get(1, TimeUnit.SECONDS)).as("results stay fetchable after a drained close").isEqualTo(40);
        }
        assertThat(async.get(1, TimeUnit.SECONDS)).isEqualTo(41);
        assertThat(state.calls.get()).isEqualTo(refs.size() + 1);
    }

    @Test
    void shouldLetSubmittersWaitForCapacityAndTimeOutInParallel() throws Exception {
        // One slot, held by an execution that never finishes during the test. Eight submitters with a 1 s submit
        // timeout must all time out after about 1 s together, not one after another (8 s).
        Gate state = new Gate();
        ActorHandle<Gate> gate = rt.createActor(ActorSpec.of("gate", ctx -> state));
        GraphBuilder g = GraphBuilder.on(rt, "one-slot");
        InputNode<Integer> in = g.input();
        GraphOptions opts = GraphOptions.defaults().withMaxInFlight(1).withSubmitTimeoutMillis(1_000);
        try (CompiledGraph<Integer, Integer> cg = g.compile(g.bind(gate, Gate::pass, in), opts)) {
            ExecutionRef<Integer> held = cg.execute(0);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                long t0 = System.nanoTime();
                List<Future<Throwable>> outcomes = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    int x = i + 1;
                    outcomes.add(pool.submit(() -> {
                        try {
                            cg.execute(x);
                            return null;
                        } catch (CapacityExceededException e) {
                            return e;
                        }
                    }));
                }
                for (Future<Throwable> f : outcomes) {
                    assertThat(f.get(30, TimeUnit.SECONDS)).isInstanceOf(CapacityExceededException.class)
                            .hasMessageContaining("after waiting 1000 ms");
                }
                long elapsed = System.nanoTime() - t0;
                assertThat(elapsed).as("the eight waits overlapped").isLessThan(TimeUnit.MILLISECONDS.toNanos(4_000));
            } finally {
                pool.shutdownNow();
            }
            state.open();
            assertThat(held.get()).isZero();
            assertThat(cg.execute(9).get()).isEqualTo(9);
        }
    }
}
