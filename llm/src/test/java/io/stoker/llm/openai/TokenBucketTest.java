package io.stoker.llm.openai;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The client's rate limiter on a fake clock. */
class TokenBucketTest {
    private static final long S = 1_000_000_000L;

    @Test
    void shouldAllowABurstOfCapacityThenRefillAtTheRate() {
        TokenBucket b = new TokenBucket(10, 5, 0);
        for (int i = 0; i < 10; i++) {
            assertThat(b.nanosUntil(1, 0)).isZero();
            b.take(1, 0);
        }
        assertThat(b.nanosUntil(1, 0)).isCloseTo(S / 5, within(1000L));
        assertThat(b.nanosUntil(1, S / 5)).isZero();
        assertThat(b.nanosUntil(10, S)).as("5 of 10 refilled after 1 s").isCloseTo(S, within(1000L));
        assertThat(b.nanosUntil(1, 100 * S)).isZero();
        b.take(1, 100 * S);
        assertThat(b.nanosUntil(10, 100 * S)).as("refill is capped at the capacity")
                .isCloseTo(S / 5, within(1000L));
    }

    @Test
    void shouldLetARequestLargerThanTheBucketGoWhenFullAndCarryTheDebt() {
        TokenBucket b = new TokenBucket(100, 100, 0);
        assertThat(b.nanosUntil(250, 0)).as("waits for a full bucket at most").isZero();
        b.take(250, 0);
        assertThat(b.nanosUntil(1, 0)).as("150 of debt plus 1").isCloseTo(151 * S / 100, within(1000L));
    }

    @Test
    void shouldDebitUsageAboveTheEstimateAndRefundUsageBelowIt() {
        TokenBucket b = new TokenBucket(100, 10, 0);
        b.take(10, 0);
        b.giveBack(10 - 100, 0); // the response used 100 tokens, not the 10 estimated
        assertThat(b.nanosUntil(10, 0)).isCloseTo(S, within(1000L));
        b.giveBack(1000, 0);
        assertThat(b.nanosUntil(100, 0)).as("refunds never overfill").isZero();
        b.take(100, 0);
        assertThat(b.nanosUntil(1, 0)).isCloseTo(S / 10, within(1000L));
    }
}
