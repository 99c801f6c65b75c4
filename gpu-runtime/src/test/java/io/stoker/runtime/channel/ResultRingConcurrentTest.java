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
        ResultRing ring = new ResultRing(4, 1, seq -> { });
        for (long seq = 0; seq < 2_000; seq++) {
            assertThat(ring.isFree(seq)).isTrue();
            ring.prepare(seq, System.nanoTime(), false);
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
                    if (ring.claim(s)) {
                        winners.incrementAndGet();
                        assertThat(ring.slot(s).value(0)).isEqualTo("v" + s);
                        ring.release(s);
                    }
                });
                ts[t].start();
            }
            go.countDown();
            for (Thread t : ts) {
                t.join();
            }
            assertThat(winners.get()).isEqualTo(1);
            assertThat(ring.isClaimed(s)).isTrue();
        }
    }

    @Test
    void shouldPublishOnlyAfterEveryOutputArrived() throws Exception {
        ResultRing ring = new ResultRing(2, 3, seq -> { });
        ring.prepare(0, 1, false);
        ring.complete(0, 0, "a", 2);
        ring.complete(0, 2, "c", 3);
        assertThat(ring.isReady(0)).isFalse();
        ring.complete(0, 1, "b", 4);
        assertThat(ring.isReady(0)).isTrue();
        ResultRing.Slot s = ring.await(0, 1_000_000, IdleKind.PARK, () -> null);
        assertThat(s.value(1)).isEqualTo("b");
        assertThat(s.endNanos()).isEqualTo(4);
        assertThat(ring.isFree(2)).as("slot of 0 still holds an unfetched result").isFalse();
        assertThat(ring.claim(0)).isTrue();
        ring.release(0);
        assertThat(ring.isFree(2)).isTrue();
    }
}
