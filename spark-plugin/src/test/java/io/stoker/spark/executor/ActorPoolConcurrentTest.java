package io.stoker.spark.executor;

import com.codahale.metrics.MetricRegistry;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.spark.actor.ActorPoolSpec;
import io.stoker.spark.config.StokerConf;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link ActorPool#actor} when its actor has died and many task threads ask for it at once: real threads released
 * together by a latch, against a replacement constructor slow enough (300 ms) that all of them see the dead slot.
 * Exactly one replacement may be built; everyone gets it (or its one failure); no actor thread or Arrow allocator
 * is left behind. A real {@link ExecutorRuntime} (runtime, root allocator, metrics) hosts the pool; no Spark needed.
 */
@Timeout(60)
class ActorPoolConcurrentTest {
    private static final int CALLERS = 16;
    private static final String POOL = "racy";

    /** Constructor calls per test; the first (pool start) is fast, later ones are slow, some may fail. */
    static final AtomicInteger ATTEMPTS = new AtomicInteger();
    /** Attempt numbers (1-based) whose constructor throws. */
    static volatile Set<Integer> failing = Set.of();

    /** The pool's actor. Constructed by {@link #create}. */
    public static final class Racy {
        public long echo(long x) {
            return x;
        }
    }

    static Racy create(io.stoker.spark.actor.ActorEnv env) throws InterruptedException {
        int attempt = ATTEMPTS.incrementAndGet();
        if (attempt > 1) {
            Thread.sleep(300);
        }
        if (failing.contains(attempt)) {
            throw new IllegalStateException("replacement " + attempt + " failed (test)");
        }
        return new Racy();
    }

    private ExecutorRuntime runtime;
    private ActorPool pool;
    private ExecutorService callers;

    @BeforeEach
    void start(@org.junit.jupiter.api.io.TempDir Path dir) {
        ATTEMPTS.set(0);
        failing = Set.of();
        runtime = new ExecutorRuntime("test-session", "app", "exec-1", "localhost", StokerConf.defaults(), List.of(),
                new MetricRegistry(), new org.apache.hadoop.conf.Configuration(false), dir);
        pool = ActorPool.start(ActorPoolSpec.ofFactory(POOL, ActorPoolConcurrentTest::create).withCount(1), runtime);
        callers = Executors.newFixedThreadPool(CALLERS);
    }

    @AfterEach
    void stop() {
        callers.shutdownNow();
        pool.close();
        runtime.close();
        assertThat(actorThreads()).as("actor threads after close").isZero();
    }

    @Test
    void shouldConstructOneReplacementForRacingCallersAndLeakNothing() throws Exception {
        killActor0();
        List<Future<ActorHandle<?>>> got = race();
        Set<ActorHandle<?>> handles = new HashSet<>();
        for (Future<ActorHandle<?>> f : got) {
            handles.add(f.get(30, TimeUnit.SECONDS));
        }
        assertThat(handles).as("every caller got the same replacement").hasSize(1);
        assertThat(handles.iterator().next().isAlive()).isTrue();
        assertThat(ATTEMPTS.get()).as("constructor calls: the start plus one replacement").isEqualTo(2);
        assertThat(pool.constructions()).isEqualTo(2);
        assertThat(runtime.runtime().actors()).hasSize(1);
        assertThat(actorThreads()).as("live threads of the pool's actor").isEqualTo(1);
        assertThat(runtime.allocator().getChildAllocators()).as("one allocator: the live actor's").hasSize(1);
    }

    @Test
    void shouldShareOneFailedReplacementWithEveryWaiterThenRetryOnTheNextCall() throws Exception {
        failing = Set.of(2);
        killActor0();
        List<Future<ActorHandle<?>>> got = race();
        int failed = 0;
        for (Future<ActorHandle<?>> f : got) {
            try {
                f.get(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(PoolStartException.class)
                        .hasMessageContaining("actor 'racy-0' of pool 'racy'")
                        .hasMessageContaining("replacement 2 failed (test)");
                failed++;
            }
        }
        assertThat(failed).as("callers that shared the one failure").isEqualTo(CALLERS);
        assertThat(ATTEMPTS.get()).as("constructor calls: the start plus one failed replacement").isEqualTo(2);
        assertThat(actorThreadsAfterExit()).as("the failed replacement's thread exits").isZero();
        assertThat(runtime.allocator().getChildAllocators()).as("failed actor's allocator closed").isEmpty();

        ActorHandle<?> again = pool.actor(0);
        assertThat(again.isAlive()).isTrue();
        assertThat(ATTEMPTS.get()).as("a failure is not remembered: the next call builds again").isEqualTo(3);
        assertThat(runtime.allocator().getChildAllocators()).hasSize(1);
    }

    @Test
    void shouldCloseAReplacementThatFinishesAfterThePoolClosed() throws Exception {
        killActor0();
        Future<ActorHandle<?>> f = callers.submit(() -> pool.actor(0));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ATTEMPTS.get() < 2) {
            assertThat(System.nanoTime()).as("replacement started").isLessThan(deadline);
            Thread.sleep(5);
        }
        pool.close();
        assertThatThrownBy(() -> f.get(30, TimeUnit.SECONDS)).hasCauseInstanceOf(IllegalStateException.class)
                .hasMessageContaining("actor pool 'racy' is closed");
        assertThat(actorThreadsAfterExit()).isZero();
        assertThat(runtime.allocator().getChildAllocators()).isEmpty();
    }

    private void killActor0() throws Exception {
        ActorHandle<?> h = pool.actor(0);
        h.kill(new IllegalStateException("actor crashed (test)"));
        h.terminationFuture().get(10, TimeUnit.SECONDS);
        assertThat(h.isAlive()).isFalse();
    }

    /** Releases {@link #CALLERS} threads at once, each asking for actor 0. */
    private List<Future<ActorHandle<?>>> race() throws InterruptedException {
        CountDownLatch ready = new CountDownLatch(CALLERS);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<ActorHandle<?>>> out = new ArrayList<>();
        for (int i = 0; i < CALLERS; i++) {
            out.add(callers.submit(() -> {
                ready.countDown();
                go.await();
                return pool.actor(0);
            }));
        }
        assertThat(ready.await(10, TimeUnit.SECONDS)).isTrue();
        go.countDown();
        return out;
    }

    /**
     * Live actor threads once they had up to 10 s to finish exiting: a failed constructor is reported from the actor's
     * thread before that thread has returned, so a count taken at once can still see it.
     */
    private static long actorThreadsAfterExit() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (actorThreads() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        return actorThreads();
    }

    private static long actorThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().equals("stoker-actor-" + POOL + "-0")).count();
    }
}
