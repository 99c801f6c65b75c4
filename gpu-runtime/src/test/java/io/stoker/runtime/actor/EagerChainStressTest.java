package io.stoker.runtime.actor;

import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.channel.IdleKind;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class EagerChainStressTest {
    static final class Inc {
        int inc(Integer x) {
            return x + 1;
        }
    }

    @Test
    void eagerChainsCompleteUnderEveryIdleKind() throws Exception {
        for (IdleKind k : IdleKind.values()) {
            try (StokerRuntime rt = StokerRuntime.create(RuntimeConfig.defaults().withIdle(k))) {
                ActorHandle<Inc> a = rt.createActor(ActorSpec.ofSupplier("a", Inc::new));
                ActorHandle<Inc> b = rt.createActor(ActorSpec.ofSupplier("b", Inc::new));
                ActorHandle<Inc> c = rt.createActor(ActorSpec.ofSupplier("c", Inc::new));
                for (int i = 0; i < 20_000; i++) {
                    int r = a.call(Inc::inc, i).thenCompose(x -> b.call(Inc::inc, x))
                            .thenCompose(x -> c.call(Inc::inc, x)).get(10, TimeUnit.SECONDS);
                    assertThat(r).as(k + " #" + i).isEqualTo(i + 3);
                }
            }
        }
    }
}
