package io.stoker.runtime.graph;

import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.channel.IdleKind;
import io.stoker.runtime.graph.Actors.Adder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** Real threads calling one compiled graph, and several graphs sharing actors. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class GraphConcurrentTest {
    /** Tags a value with the actor's own running count, so a lost or duplicated delivery shows. */
    static final class Tagger {
        long seen;

        long[] tag(Long x) {
            seen++;
            return new long[]{x, x * 3 + 1};
        }

        Long check(long[] t) {
            if (t[1] != t[0] * 3 + 1) {
                throw new IllegalStateException("corrupt payload " + t[0]);
            }
            return t[0];
        }
    }

    private static CompiledGraph<Long, Long> tagChain(StokerRuntime rt, String name, int maxInFlight) {
        ActorHandle<Tagger> a = rt.createActor(ActorSpec.of(name + "-a", ctx -> new Tagger()));
        ActorHandle<Tagger> b = rt.createActor(ActorSpec.of(name + "-b", ctx -> new Tagger()));
        GraphBuilder g = GraphBuilder.on(rt, name);
        InputNode<Long> in = g.input();
        Node<Long> out = g.bind(b, Tagger::check, g.bind(a, Tagger::tag, in));
        return g.compile(out, GraphOptions.defaults().withMaxInFlight(maxInFlight));
    }

    @Test
    void shouldDeliverEachResultToItsOwnCallerFromEightThreads() throws Exception {
        try (StokerRuntime rt = StokerRuntime.create()) {
            CompiledGraph<Long, Long> cg = tagChain(rt, "eight", 16);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<Long>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                long base = t * 1_000_000L;
                done.add(pool.submit(() -> {
                    long checked = 0;
                    for (long i = 0; i < 3_000; i++) {
                        long v = base + i;
                        Long r = cg.execute(v).get();
                        if (r != v) {
                            throw new AssertionError("thread " + base + " sent " + v + " but got " + r);
                        }
                        checked++;
                    }
                    return checked;
                }));
            }
            long total = 0;
            for (Future<Long> f : done) {
                total += f.get(120, TimeUnit.SECONDS);
            }
            pool.shutdown();
            assertThat(total).isEqualTo(24_000);
        }
    }

    @ParameterizedTest(name = "idle {0}")
    @EnumSource(value = IdleKind.class, names = {"YIELD", "BACKOFF", "PARK"})
    void shouldDeliverOneHundredThousandResultsExactlyOnceWithPipelining(IdleKind idle) throws Exception {
        int n = 100_000;
        try (StokerRuntime rt = StokerRuntime.create(RuntimeConfig.defaults().withIdle(idle))) {
            CompiledGraph<Long, Long> cg = tagChain(rt, "stress", 64);
            BitSet seen = new BitSet(n);
            int window = cg.capacity();
            long[] seqs = new long[window];
            long[] inputs = new long[window];
            for (int i = 0; i < n + window; i++) {
                int w = i % window;
                if (i >= window) {
                    long got = cg.await(seqs[w], 30, TimeUnit.SECONDS);
                    assertThat(got).isEqualTo(inputs[w]);
                    assertThat(seen.get((int) got)).as("result %d delivered twice", got).isFalse();
                    seen.set((int) got);
                }
                if (i < n) {
                    inputs[w] = i;
                    seqs[w] = cg.submit((long) i);
                }
            }
            assertThat(seen.cardinality()).isEqualTo(n);
        }
    }

    @Test
    void shouldLetBatchingCallersFetchInAnyOrderWithoutWaitingOnEachOther() throws Exception {
        // Two callers each keep a batch of 4 in flight on a capacity of 8, then fetch their own results. Their
        // executions interleave, so the oldest unfetched execution often belongs to the other caller: capacity must
        // count unfetched results, not sequence distance, or each caller's submit waits on the other's fetch.
        try (StokerRuntime rt = StokerRuntime.create()) {
            CompiledGraph<Long, Long> cg = tagChain(rt, "batches", 8);
            runCallers(2, caller -> {
                long base = caller * 1_000_000L;
                long[] tickets = new long[4];
                for (int round = 0; round < 5_000; round++) {
                    for (int i = 0; i < 4; i++) {
                        tickets[i] = cg.submit(base + round * 4L + i);
                    }
                    for (int i = 0; i < 4; i++) {
                        assertThat(cg.await(tickets[i], 10, TimeUnit.SECONDS)).isEqualTo(base + round * 4L + i);
                    }
                }
            });
        }
    }

    @Test
    void shouldHandOutSlotsFairlyWhenMoreCallersThanCapacityWait() throws Exception {
        // Four callers, capacity 2: submits wait for a slot all the time, and slots come back from other threads.
        try (StokerRuntime rt = StokerRuntime.create()) {
            CompiledGraph<Long, Long> cg = tagChain(rt, "crowded", 2);
            runCallers(4, caller -> {
                for (long i = 0; i < 5_000; i++) {
                    long v = caller * 1_000_000L + i;
                    assertThat(cg.execute(v).get(10, TimeUnit.SECONDS)).isEqualTo(v);
                }
            });
        }
    }

    private static void runCallers(int n, java.util.function.IntConsumer body) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(n);
        try {
            CompletableFuture<?>[] callers = new CompletableFuture[n];
            for (int c = 0; c < n; c++) {
                int caller = c;
                callers[c] = CompletableFuture.runAsync(() -> body.accept(caller), threads);
            }
            CompletableFuture.allOf(callers).get(120, TimeUnit.SECONDS);
        } finally {
            threads.shutdown();
        }
    }

    @Test
    void shouldRunTwoGraphsOnOneActorConcurrently() throws Exception {
        try (StokerRuntime rt = StokerRuntime.create()) {
            ActorHandle<Adder> shared = rt.createActor(ActorSpec.of("shared", ctx -> new Adder(1)));
            ActorHandle<Adder> x = rt.createActor(ActorSpec.of("x", ctx -> new Adder(100)));
            ActorHandle<Adder> y = rt.createActor(ActorSpec.of("y", ctx -> new Adder(1000)));
            GraphBuilder g1 = GraphBuilder.on(rt, "one");
            InputNode<Integer> in1 = g1.input();
            CompiledGraph<Integer, Integer> one = g1.compile(in1.to(shared, Adder::add).to(x, Adder::add));
            GraphBuilder g2 = GraphBuilder.on(rt, "two");
            InputNode<Integer> in2 = g2.input();
            // The second graph visits the shared actor after y: opposite order to the first.
            CompiledGraph<Integer, Integer> two = g2.compile(in2.to(y, Adder::add).to(shared, Adder::add));
            ExecutorService threads = Executors.newFixedThreadPool(2); // real threads (the common pool has 1 here)
            CompletableFuture<Void> f1 = CompletableFuture.runAsync(() -> {
                for (int i = 0; i < 20_000; i++) {
                    assertThat(one.execute(i).get()).isEqualTo(i + 101);
                }
            }, threads);
            CompletableFuture<Void> f2 = CompletableFuture.runAsync(() -> {
                for (int i = 0; i < 20_000; i++) {
                    assertThat(two.execute(i).get()).isEqualTo(i + 1001);
                }
            }, threads);
            CompletableFuture.allOf(f1, f2).get(120, TimeUnit.SECONDS);
            threads.shutdown();
            assertThat(shared.call(Adder::calls).join()).isEqualTo(40_000);
            one.close();
            assertThat(two.execute(5).get()).as("closing one graph leaves the other running").isEqualTo(1006);
        }
    }

    @Test
    void shouldCompleteAsyncExecutionsOffTheActorThreads() throws Exception {
        try (StokerRuntime rt = StokerRuntime.create()) {
            CompiledGraph<Long, Long> cg = tagChain(rt, "async", 32);
            AtomicLong sum = new AtomicLong();
            List<CompletableFuture<Void>> all = new ArrayList<>();
            for (long i = 0; i < 5_000; i++) {
                long v = i;
                CompletableFuture<Void> f = cg.executeAsync(v).thenAccept(r -> {
                    assertThat(Thread.currentThread().getName()).doesNotStartWith("stoker-actor");
                    assertThat(r).isEqualTo(v);
                    sum.addAndGet(r);
                });
                all.add(f);
            }
            CompletableFuture.allOf(all.toArray(new CompletableFuture[0])).get(60, TimeUnit.SECONDS);
            assertThat(sum.get()).isEqualTo(4_999L * 5_000 / 2);
        }
    }
}
