package io.stoker.spark.plugin;

import io.stoker.runtime.comm.CollectiveException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The driver's registry of NCCL ids, called directly, and the executor side ({@link DriverNcclIdExchange}) talking to
 * it through Java serialization (what Spark's RPC does to every message), with ranks on threads.
 * {@code NcclClusterTest} (integration-tests) runs the same through Spark's real RPC between two executor JVMs.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class NcclIdRegistryTest {
    private static final String SESSION = "session-a";
    private final NcclIdRegistry registry = new NcclIdRegistry(SESSION);

    private static byte[] id(String text) {
        return Arrays.copyOf(text.getBytes(StandardCharsets.US_ASCII), 128);
    }

    private static NcclGroupKey key(String group, long generation) {
        return new NcclGroupKey(SESSION, group, generation);
    }

    @Test
    void shouldHandRankZerosIdToEveryOtherRankAndForgetItOnceAllHaveIt() {
        NcclGroupKey k = key("tp", 0);
        assertThat(registry.fetch(k, 1, 3)).as("before rank 0 publishes").isNull();
        registry.publish(k, 3, id("tp-id"), "exec-1");
        assertThat(registry.fetch(k, 1, 3)).isEqualTo(id("tp-id"));
        assertThat(registry.size()).as("rank 2 has not fetched yet").isEqualTo(1);
        assertThat(registry.fetch(k, 1, 3)).as("a retried fetch").isEqualTo(id("tp-id"));
        assertThat(registry.fetch(k, 2, 3)).isEqualTo(id("tp-id"));
        assertThat(registry.size()).as("every rank has the id").isZero();
    }

    @Test
    void shouldKeepGroupsOfOtherNamesAndGenerationsApart() {
        registry.publish(key("tp", 0), 2, id("first"), "exec-1");
        registry.publish(key("tp", 1), 2, id("second"), "exec-1");
        registry.publish(key("pp", 0), 2, id("third"), "exec-2");
        assertThat(registry.fetch(key("tp", 1), 1, 2)).isEqualTo(id("second"));
        assertThat(registry.fetch(key("pp", 0), 1, 2)).isEqualTo(id("third"));
        assertThat(registry.fetch(key("tp", 0), 1, 2)).isEqualTo(id("first"));
        assertThat(registry.fetch(key("tp", 2), 1, 2)).isNull();
    }

    @Test
    void shouldRefuseASecondDifferentIdForOneGroupButAcceptARetriedPublish() {
        registry.publish(key("tp", 0), 2, id("one"), "exec-1");
        registry.publish(key("tp", 0), 2, id("one"), "exec-1");
        assertThatThrownBy(() -> registry.publish(key("tp", 0), 2, id("two"), "exec-2"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("NCCL group 'tp' (generation 0): rank 0 on executor exec-2 published an id")
                .hasMessageContaining("rank 0 on executor exec-1 already published another")
                .hasMessageContaining("new generation");
        assertThat(registry.fetch(key("tp", 0), 1, 2)).as("the first id stays").isEqualTo(id("one"));
    }

    @Test
    void shouldRefuseAnotherSessionsKeyAndAWorldSizeThatDisagrees() {
        assertThatThrownBy(() -> registry.publish(new NcclGroupKey("session-b", "tp", 0), 2, id("x"), "exec-9"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("belongs to Stoker session session-b, not to this application's (session-a)");
        registry.publish(key("tp", 0), 2, id("x"), "exec-1");
        assertThatThrownBy(() -> registry.fetch(key("tp", 0), 1, 4))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rank 1 expects 4 ranks, but rank 0 (executor exec-1) published the id for 2");
        assertThatThrownBy(() -> registry.fetch(key("tp", 0), 0, 2))
                .hasMessageContaining("rank 0 cannot fetch the id of a group of 2 ranks");
    }

    @Test
    void shouldForgetAClosedGroupAndEveryGroupWhenTheApplicationEnds() {
        registry.publish(key("tp", 0), 4, id("a"), "exec-1");
        registry.publish(key("pp", 0), 2, id("b"), "exec-1");
        registry.receive(new NcclIdMessage.Close(key("tp", 0)));
        assertThat(registry.fetch(key("tp", 0), 1, 4)).as("closed").isNull();
        assertThat(registry.size()).isEqualTo(1);
        registry.forgetAll();
        assertThat(registry.size()).isZero();
        assertThat(registry.fetch(key("pp", 0), 1, 2)).isNull();
    }

    @Test
    void shouldGiveEveryRankOnItsThreadTheIdRankZeroCreatedEvenWhenRankZeroComesLast() throws Exception {
        AtomicInteger asks = new AtomicInteger();
        DriverNcclIdExchange.DriverLink link = m -> {
            asks.incrementAndGet();
            return roundTrip(registry.receive((NcclIdMessage) roundTrip(m)));
        };
        DriverNcclIdExchange exchange = new DriverNcclIdExchange(link, SESSION, "exec-1", 3);
        List<CompletableFuture<byte[]>> ranks = new ArrayList<>();
        for (int r = 1; r < 4; r++) {
            int rank = r;
            ranks.add(CompletableFuture.supplyAsync(() -> exchange.exchange("tp", rank, 4,
                    () -> { throw new AssertionError("only rank 0 creates the id"); }, 10_000)));
        }
        Thread.sleep(150); // the others are polling the driver by now
        byte[] created = id("created-by-rank-0");
        byte[] own = exchange.exchange("tp", 0, 4, () -> created, 10_000);
        assertThat(own).isEqualTo(created);
        for (CompletableFuture<byte[]> f : ranks) {
            assertThat(f.get(10, TimeUnit.SECONDS)).isEqualTo(created);
        }
        assertThat(asks.get()).as("ranks 1..3 polled before rank 0 published").isGreaterThan(4);
        assertThat(registry.size()).as("forgotten once every rank has it").isZero();
    }

    @Test
    void shouldNameTheGroupAndTheMissingRankWhenRankZeroNeverPublishes() {
        DriverNcclIdExchange exchange = new DriverNcclIdExchange(m -> registry.receive((NcclIdMessage) m), SESSION,
                "exec-2", 0);
        long start = System.nanoTime();
        assertThatThrownBy(() -> exchange.exchange("lonely", 1, 2, () -> id("never"), 300))
                .isInstanceOf(CollectiveException.class)
                .hasMessageContaining("NCCL group 'lonely' (generation 0): rank 1 on executor exec-2 waited 300 ms"
                        + " for rank 0 to publish the group's id through the driver; rank 0 never did");
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isGreaterThanOrEqualTo(300);
    }

    @Test
    void shouldReportTheDriversRefusalAsACollectiveFailureNamingTheGroup() {
        DriverNcclIdExchange exchange = new DriverNcclIdExchange(m -> registry.receive((NcclIdMessage) m),
                "session-b", "exec-3", 0);
        assertThatThrownBy(() -> exchange.exchange("tp", 0, 2, () -> id("x"), 1000))
                .isInstanceOf(CollectiveException.class)
                .hasMessageContaining("NCCL group 'tp' (generation 0): rank 0 on executor exec-3 could not publish the"
                        + " group's id through the driver")
                .hasMessageContaining("belongs to Stoker session session-b");
    }

    private static Object roundTrip(Object o) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(o);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return in.readObject();
        }
    }
}
