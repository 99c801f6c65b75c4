package io.stoker.runtime.channel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ResultRingConcurrentTest {
    @Test
    void shouldLetExactlyOneOfManyCallersClaimAResult() throws Exception {
        ResultRing ring = new ResultRing(4, 1, slot -> { });
        for (long seq = 0; seq < 2_000; seq++) {
            assertThat(ring.hasFreeSlot()).isTrue();
            int slot = ring.acquire(seq, System.nanoTime(), false);
            long ticket = ResultRing.ticket(seq, slot);
            ring.complete(seq, 0, "v" + seq, System.nanoTime());
            AtomicInteger winners = new AtomicInteger();
            CountDownLatch go = new CountDownLatch(1);
            Thread[] ts = new Thread[4];
            long s = seq;
            for (int t = 0; t < ts.length; t++) {
                ts[t] = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    if (ring.claim(ticket)) {
                        winners.incrementAndGet();
                        assertThat(ring.slotAt(slot).value(0)).isEqualTo("v" + s);
                        ring.release(slot);
                    }
                });
                ts[t].start();
            }
            go.countDown();
            for (Thread t : ts) {
                t.join();
            }
            assertThat(winners.get()).isEqualTo(1);
            assertThat(ring.isClaimed(ticket)).isTrue();
        }
    }

    @Test
    void shouldPublishOnlyAfterEveryOutputArrivedAndCountCapacityByUnfetchedResults() throws Exception {
        ResultRing ring = new ResultRing(2, 3, slot -> { });
        int s0 = ring.acquire(0, 1, false);
        int s1 = ring.acquire(1, 1, false);
        assertThat(ring.acquire(2, 1, false)).as("two unfetched executions fill a capacity of 2").isEqualTo(-1);
        long t0 = ResultRing.ticket(0, s0);
        ring.complete(0, 0, "a", 2);
        ring.complete(0, 2, "c", 3);
        assertThat(ring.isReady(t0)).as("one output still missing").isFalse();
        ring.complete(0, 1, "b", 4);
        assertThat(ring.isReady(t0)).isTrue();
        for (int i = 0; i < 3; i++) {
            ring.complete(1, i, "x" + i, 5);
        }
        // Fetch execution 1 before execution 0: its slot, not the oldest one, is what frees capacity.
        assertThat(ring.claim(ResultRing.ticket(1, s1))).isTrue();
        ring.release(s1);
        assertThat(ring.acquire(2, 6, false)).as("execution 2 reuses the slot of execution 1").isEqualTo(s1);
        ResultRing.Slot s = ring.await(t0, 1_000_000, IdleKind.PARK, () -> null);
        assertThat(s.value(1)).isEqualTo("b");
        assertThat(s.endNanos()).isEqualTo(4);
        assertThat(ring.isClaimed(ResultRing.ticket(1, s1))).as("a stale ticket of a reused slot").isTrue();
    }
}
