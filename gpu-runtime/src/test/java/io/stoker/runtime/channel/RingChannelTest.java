package io.stoker.runtime.channel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RingChannelTest {
    @Test
    void shouldKeepOrderAndRejectOfferWhenFull() {
        AtomicInteger wakes = new AtomicInteger();
        RingChannel<Integer> ch = new RingChannel<>("a -> b", 3, wakes::incrementAndGet);
        assertThat(ch.capacity()).isEqualTo(4);
        for (int i = 0; i < 4; i++) {
            assertThat(ch.offer(i)).isTrue();
        }
        assertThat(ch.offer(99)).as("full").isFalse();
        assertThat(wakes.get()).isEqualTo(4);
        for (int i = 0; i < 4; i++) {
            assertThat(ch.poll()).isEqualTo(i);
        }
        assertThat(ch.poll()).isNull();
        assertThat(ch.hasValue()).isFalse();
    }

    @Test
    void shouldRejectOffersAfterClose() {
        RingChannel<String> ch = new RingChannel<>("x", 2, () -> { });
        ch.close();
        assertThat(ch.isClosed()).isTrue();
        assertThat(ch.offer("late")).isFalse();
        assertThatThrownBy(() -> new RingChannel<>("bad", 0, () -> { }))
                .hasMessageContaining("channel bad: capacity=0 must be >= 1");
    }

    @Test
    void shouldPassTwoMillionSequencedValuesBetweenRealThreadsInOrder() throws Exception {
        RingChannel<Long> ch = new RingChannel<>("stress", 1024, () -> { });
        int n = 2_000_000;
        Long[] boxes = new Long[1024];
        for (int i = 0; i < boxes.length; i++) {
            boxes[i] = (long) i;
        }
        Thread producer = new Thread(() -> {
            for (int i = 0; i < n; i++) {
                Long v = i < boxes.length ? boxes[i] : Long.valueOf(i);
                while (!ch.offer(v)) {
                    Thread.yield();
                }
            }
        });
        producer.start();
        long expected = 0;
        while (expected < n) {
            Long v = ch.poll();
            if (v == null) {
                Thread.yield();
                continue;
            }
            if (v != expected) {
                throw new AssertionError("expected " + expected + " but got " + v);
            }
            expected++;
        }
        producer.join();
    }

    @Test
    void localChannelHandsOverOneReference() {
        LocalChannel<Object> ch = new LocalChannel<>("a.f -> a.g");
        Object payload = new Object();
        assertThat(ch.offer(payload)).isTrue();
        assertThat(ch.offer(new Object())).as("one slot").isFalse();
        assertThat(ch.poll()).isSameAs(payload);
        assertThat(ch.kind()).isEqualTo(ChannelKind.LOCAL);
    }
}
