package io.stoker.runtime.internal;

import io.stoker.runtime.WaitPolicy;
import io.stoker.runtime.channel.IdleKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ResultRingConcurrentTest {
    private static final WaitPolicy PARK = WaitPolicy.defaults().withKind(IdleKind.PARK);

    @Test
    void shouldLetExactlyOneOfManyCallersClaimAResult() throws Exception {
        ResultRing ring = new ResultRing(4, 1, (slot, seq) -> { });
        int callers = 4;
        ExecutorService pool = Executors.newFixedThreadPool(callers);
        try {
            for (long seq = 0; seq < 2_000; seq++) {
                int slot = ring.acquire(seq, System.nanoTime(), false);
                assertThat(slot).as("a slot is free for execution %d", seq).isGreaterThanOrEqualTo(0);
                long ticket = ResultRing.ticket(seq, slot);
                ring.complete(seq, 0, "v" + seq, false, System.nanoTime());
                CyclicBarrier go = new CyclicBarrier(callers);
                List<Future<Object>> reads = new ArrayList<>();
                for (int t = 0; t < callers; t++) {
                    reads.add(pool.submit(() -> {
                        go.await();
                        if (!ring.claim(ticket)) {
                            return null;
                        }
                        Object v = ring.slotAt(slot).value(0);
                        ring.release(slot);
                        return v;
                    }));
                }
                List<Object> won = new ArrayList<>();
                for (Future<Object> f : reads) {
                    Object v = f.get(10, TimeUnit.SECONDS); // an assertion error in a caller would surface here
                    if (v != null) {
                        won.add(v);
                    }
                }
                assertThat(won).as("execution %d is claimed by exactly one caller, who reads its value", seq)
                        .containsExactly("v" + seq);
                assertThat(ring.isClaimed(ticket)).isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void shouldPublishOnlyAfterEveryOutputArrivedAndCountCapacityByHeldResults() throws Exception {
        ResultRing ring = new ResultRing(2, 3, (slot, seq) -> { });
        int s0 = ring.acquire(0, 1, false);
        int s1 = ring.acquire(1, 1, false);
        assertThat(ring.acquire(2, 1, false)).as("two unfetched executions fill a capacity of 2").isEqualTo(-1);
        long t0 = ResultRing.ticket(0, s0);
        ring.complete(0, 0, "a", false, 2);
        ring.complete(0, 2, "c", false, 3);
        assertThat(ring.isReady(t0)).as("one output still missing").isFalse();
        assertThat(ring.isOutputReady(t0, 2)).as("but output 2 alone is there").isTrue();
        ring.complete(0, 1, "b", false, 4);
        assertThat(ring.isReady(t0)).isTrue();
        for (int i = 0; i < 3; i++) {
            ring.complete(1, i, "x" + i, false, 5);
        }
        // Fetch execution 1 before execution 0: its slot, not the oldest one, is what frees capacity.
        assertThat(ring.claim(ResultRing.ticket(1, s1))).isTrue();
        ring.release(s1);
        assertThat(ring.acquire(2, 6, false)).as("execution 2 reuses the slot of execution 1").isEqualTo(s1);
        ResultRing.Slot s = ring.await(t0, ResultRing.WHOLE, 1_000_000, PARK::newIdleStrategy, () -> null);
        assertThat(s.value(1)).isEqualTo("b");
        assertThat(s.endNanos()).isEqualTo(4);
        assertThat(ring.isClaimed(ResultRing.ticket(1, s1))).as("a stale ticket of a reused slot").isTrue();
    }

    @Test
    void shouldPublishAFailedOutputAtOnceAndFreeTheSlotOnlyAfterTheLastOutput() {
        ResultRing ring = new ResultRing(1, 2, (slot, seq) -> { });
        int slot = ring.acquire(0, 1, false);
        long ticket = ResultRing.ticket(0, slot);
        RuntimeException boom = new IllegalStateException("boom");
        ring.complete(0, 1, boom, true, 2);
        assertThat(ring.isReady(ticket)).as("fast failure: ready to fail while output 0 is still missing").isTrue();
        ResultRing.Slot s = ring.slotAt(slot);
        assertThat(s.isComplete(0)).isFalse();
        assertThat(s.firstFailure()).isSameAs(boom);
        assertThat(ring.claim(ticket)).isTrue();
        ring.letGo(ticket);
        assertThat(ring.hasFreeSlot()).as("a producer still owes output 0: the slot stays taken").isFalse();
        ring.complete(0, 0, "late", false, 3);
        assertThat(ring.acquire(1, 4, false)).as("the last producer freed the slot").isEqualTo(slot);
        assertThat(ring.slotAt(slot).value(0)).as("values are cleared for the next execution").isNull();
    }

    @Test
    void shouldFreeEachSlotExactlyOnceWhileProducersAndEarlyLettingGoRace() throws Exception {
        // Three producer threads each deliver one output of every execution; the consumer fetches some executions
        // whole and lets go of others at a random point (before, during or after their outputs arrive). Every slot
        // must come back exactly once: a lost slot shrinks capacity (the run stalls), a double free grows it.
        int capacity = 8;
        int outputs = 3;
        int executions = 5_000;
        ResultRing ring = new ResultRing(capacity, outputs, (slot, seq) -> { });
        java.util.concurrent.ConcurrentLinkedQueue<Long>[] work = new java.util.concurrent.ConcurrentLinkedQueue[outputs];
        for (int i = 0; i < outputs; i++) {
            work[i] = new java.util.concurrent.ConcurrentLinkedQueue<>();
        }
        ExecutorService producers = Executors.newFixedThreadPool(outputs);
        List<Future<?>> running = new ArrayList<>();
        for (int o = 0; o < outputs; o++) {
            int out = o;
            running.add(producers.submit(() -> {
                int done = 0;
                while (done < executions) {
                    Long seq = work[out].poll();
                    if (seq == null) {
                        Thread.yield(); // four busy threads on a small machine: give the core away
                        continue;
                    }
                    ring.complete(seq, out, "e" + seq + "o" + out, false, 1);
                    done++;
                }
                return null;
            }));
        }
        try {
            ThreadLocalRandom rnd = ThreadLocalRandom.current();
            long[] tickets = new long[executions];
            long fetched = 0;
            long next = 0;
            long consumed = 0;
            while (consumed < executions) {
                if (next < executions) {
                    int slot = ring.acquire(next, 1, false);
                    if (slot >= 0) {
                        tickets[(int) next] = ResultRing.ticket(next, slot);
                        for (int o = 0; o < outputs; o++) {
                            work[o].add(next);
                        }
                        next++;
                        continue;
                    }
                }
                if (consumed == next) {
                    Thread.yield(); // every slot is let go of but still owed outputs: the producers will free one
                    continue;
                }
                long ticket = tickets[(int) consumed];
                assertThat(ring.claim(ticket)).isTrue();
                if (rnd.nextInt(3) == 0) {
                    ring.letGo(ticket); // drop it wherever its producers are
                } else {
                    ResultRing.Slot s = ring.await(ticket, ResultRing.WHOLE, TimeUnit.SECONDS.toNanos(10),
                            PARK::newIdleStrategy, () -> null);
                    for (int o = 0; o < outputs; o++) {
                        assertThat(s.value(o)).isEqualTo("e" + consumed + "o" + o);
                    }
                    ring.release(s.index());
                    fetched++;
                }
                consumed++;
            }
            for (Future<?> f : running) {
                f.get(30, TimeUnit.SECONDS);
            }
            assertThat(fetched).isGreaterThan(executions / 2);
            Set<Integer> slots = new HashSet<>();
            int s;
            while ((s = ring.acquire(next++, 1, false)) >= 0) {
                assertThat(slots.add(s)).as("slot %d handed out twice: freed twice", s).isTrue();
            }
            assertThat(slots).as("every slot came back").hasSize(capacity);
        } finally {
            producers.shutdownNow();
        }
    }
}
