package io.stoker.runtime.channel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** A consumer that parks between values must never miss a wake-up, even with a very long park period. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WaiterConcurrentTest {
    @Test
    void shouldNotLoseWakeUpsWhenTheConsumerParks() throws Exception {
        // With a 10 s park period a single lost wake-up would blow the test timeout.
        Waiter waiter = new Waiter(IdleKind.PARK, TimeUnit.SECONDS.toNanos(10));
        RingChannel<Long> ch = new RingChannel<>("w", 1, waiter::wake);
        AtomicLong received = new AtomicLong();
        int n = 50_000;
        Thread consumer = new Thread(() -> {
            long next = 0;
            while (next < n) {
                Long v = ch.poll();
                if (v != null) {
                    if (v != next) {
                        throw new AssertionError("expected " + next + " got " + v);
                    }
                    next++;
                    received.set(next);
                    waiter.idle(1, true, ch::hasValue);
                } else {
                    waiter.idle(0, true, ch::hasValue);
                }
            }
        });
        waiter.bindOwner(consumer);
        consumer.start();
        for (long i = 0; i < n; i++) {
            while (!ch.offer(i)) {
                Thread.yield();
            }
        }
        consumer.join(TimeUnit.SECONDS.toMillis(100));
        assertThat(received.get()).isEqualTo(n);
    }

    @Test
    void shouldParseIdleKindsNamingTheOption() {
        assertThat(IdleKind.parse("spark.stoker.idle", " Yield ")).isEqualTo(IdleKind.YIELD);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> IdleKind.parse("spark.stoker.idle", "nap"))
                .hasMessage("spark.stoker.idle=nap is not an idle strategy; use one of spin, yield, backoff, park");
    }
}
