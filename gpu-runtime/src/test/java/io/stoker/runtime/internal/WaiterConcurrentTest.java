package io.stoker.runtime.internal;

import io.stoker.runtime.WaitPolicy;
import io.stoker.runtime.channel.IdleKind;
import io.stoker.runtime.channel.RingChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** A consumer that parks between values must never miss a wake-up, even with a very long park period. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WaiterConcurrentTest {
    @Test
    void shouldNotLoseWakeUpsWhenTheConsumerParks() throws Exception {
        // The channel holds one value and the producer only wakes the consumer after a successful offer, so a single
        // lost wake-up leaves the consumer parked for the whole park period: the run then takes longer than it.
        long parkPeriodNanos = TimeUnit.SECONDS.toNanos(20);
        Waiter waiter = new Waiter(new WaitPolicy(IdleKind.PARK, 0, parkPeriodNanos));
        RingChannel<Long> ch = new RingChannel<>("w", 1, waiter::wake);
        AtomicLong received = new AtomicLong();
        AtomicReference<Throwable> error = new AtomicReference<>();
        int n = 20_000;
        Thread consumer = new Thread(() -> {
            try {
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
            } catch (Throwable t) {
                error.set(t);
            }
        });
        waiter.bindOwner(consumer);
        long t0 = System.nanoTime();
        consumer.start();
        for (long i = 0; i < n; i++) {
            while (!ch.offer(i)) {
                Thread.yield();
            }
        }
        consumer.join(TimeUnit.SECONDS.toMillis(100));
        long elapsed = System.nanoTime() - t0;
        assertThat(error.get()).isNull();
        assertThat(received.get()).isEqualTo(n);
        assertThat(elapsed).as("no wake-up was lost: a lost one costs a %d s park", 20)
                .isLessThan(parkPeriodNanos);
    }

    @Test
    void shouldParkAColdOwnerUntilWokenAndWakeItPromptly() throws Exception {
        long parkPeriodNanos = TimeUnit.SECONDS.toNanos(20);
        Waiter waiter = new Waiter(new WaitPolicy(IdleKind.BACKOFF, 0, parkPeriodNanos));
        AtomicLong wokenAt = new AtomicLong();
        java.util.concurrent.atomic.AtomicBoolean work = new java.util.concurrent.atomic.AtomicBoolean();
        Thread owner = new Thread(() -> {
            while (!work.get()) {
                waiter.idle(0, false, work::get);
            }
            wokenAt.set(System.nanoTime());
        });
        waiter.bindOwner(owner);
        owner.start();
        while (owner.getState() != Thread.State.TIMED_WAITING) {
            Thread.sleep(1);
        }
        long t0 = System.nanoTime();
        work.set(true);
        waiter.wake();
        owner.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(wokenAt.get() - t0).as("woken by wake(), not by the 20 s park period")
                .isLessThan(TimeUnit.SECONDS.toNanos(5));
    }

    @Test
    void shouldParseIdleKindsNamingTheOption() {
        assertThat(IdleKind.parse("spark.stoker.idle", " Yield ")).isEqualTo(IdleKind.YIELD);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> IdleKind.parse("spark.stoker.idle", "nap"))
                .hasMessage("spark.stoker.idle=nap is not an idle strategy; use one of spin, yield, backoff, park");
    }
}
