package io.stoker.runtime.channel;

import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.WaitPolicy;
import org.agrona.concurrent.IdleStrategy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class StokerIdleStrategyTest {
    @Test
    void shouldTakeKindAndTimingsFromTheRuntimeConfig() {
        RuntimeConfig c = RuntimeConfig.defaults().withIdle(IdleKind.PARK).withYieldNanos(5_000)
                .withMaxParkNanos(2_000_000);
        WaitPolicy w = c.waitPolicy();
        assertThat(w).isEqualTo(new WaitPolicy(IdleKind.PARK, 5_000, 2_000_000));
        IdleStrategy s = w.newIdleStrategy();
        assertThat(s).isInstanceOf(StokerIdleStrategy.class);
        assertThat(s.alias()).isEqualTo("stoker-park");
        assertThat(((StokerIdleStrategy) s).maxParkNanos()).isEqualTo(2_000_000);
        assertThatThrownBy(() -> RuntimeConfig.defaults().withYieldNanos(-1)).hasMessage("yieldNanos=-1 must be >= 0");
    }

    @Test
    void shouldNeverParkWhenSpinningOrYielding() {
        for (IdleKind k : new IdleKind[]{IdleKind.SPIN, IdleKind.YIELD}) {
            StokerIdleStrategy s = k.newIdleStrategy(0, 1_000_000);
            for (int i = 0; i < 10_000; i++) {
                assertThat(s.idleUnlessParking()).as("%s round %d", k, i).isFalse();
            }
        }
        assertThat(IdleKind.PARK.newIdleStrategy(0, 1_000_000).idleUnlessParking()).as("park parks at once").isTrue();
    }

    @Test
    void shouldYieldForTheBackoffWindowThenParkUntilReset() throws Exception {
        long window = TimeUnit.MILLISECONDS.toNanos(20);
        StokerIdleStrategy s = IdleKind.BACKOFF.newIdleStrategy(window, 1_000_000);
        long t0 = System.nanoTime();
        int yields = 0;
        while (!s.idleUnlessParking()) {
            yields++;
        }
        long yielded = System.nanoTime() - t0;
        assertThat(yielded).as("yields for the whole window before parking").isGreaterThanOrEqualTo(window);
        assertThat(yields).isPositive();
        assertThat(s.idleUnlessParking()).as("stays in the parking phase").isTrue();
        s.idle(1); // work resets the back-off
        assertThat(s.idleUnlessParking()).as("yields again after work").isFalse();
        Thread.sleep(25);
        assertThat(s.idleUnlessParking()).as("past the window it parks again").isTrue();
        long p0 = System.nanoTime();
        s.idle(); // parks for at most maxPark (1 ms): an unbounded park would not return, nobody unparks this thread
        assertThat(System.nanoTime() - p0).as("one idle() in the parking phase is bounded by maxPark")
                .isLessThan(TimeUnit.SECONDS.toNanos(1));
    }
}
