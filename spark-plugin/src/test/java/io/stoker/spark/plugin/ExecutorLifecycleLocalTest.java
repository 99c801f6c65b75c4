package io.stoker.spark.plugin;

import io.stoker.spark.Stoker;
import io.stoker.spark.actor.ActorEnv;
import io.stoker.spark.actor.ActorPoolSpec;
import io.stoker.spark.executor.ExecutorRuntimes;
import io.stoker.spark.graph.GraphSpec;
import io.stoker.spark.testing.LocalSpark;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * In local mode the executor lives in the driver JVM: stopping a SparkContext must close its runtime (actors
 * closed, registry entry gone), and a new SparkContext must get a fresh runtime, not the old one.
 */
@Timeout(120)
class ExecutorLifecycleLocalTest {
    static final AtomicInteger BUILT = new AtomicInteger();
    static final AtomicInteger CLOSED = new AtomicInteger();

    /** Counts its constructions and closes. */
    public static final class Tracked implements AutoCloseable {
        public Tracked(ActorEnv env) {
            BUILT.incrementAndGet();
        }

        public VectorSchemaRoot same(VectorSchemaRoot in) {
            return in;
        }

        @Override
        public void close() {
            CLOSED.incrementAndGet();
        }
    }

    private static String runOnce() {
        SparkSession spark = LocalSpark.start("ExecutorLifecycleLocalTest", Map.of(
                "spark.stoker.pool.tracked.class", Tracked.class.getName(),
                "spark.stoker.pool.tracked.count", "2",
                "spark.stoker.pool.tracked.eager", "true"));
        try {
            var df = spark.range(0, 100, 1, 4).toDF();
            long n = df.transform(Stoker.mapBatches(GraphSpec.of("same", "tracked", "same"), df.schema())
                    .dropInput()).count();
            assertThat(n).isEqualTo(100);
            assertThat(Stoker.executorReports(spark).get("driver").poolActorInits()).containsEntry("tracked", 2L);
            return DriverState.forContext(spark.sparkContext()).session();
        } finally {
            spark.stop();
        }
    }

    @Test
    void shouldCloseRuntimeOnShutdownAndStartAFreshOneForTheNextContext() {
        BUILT.set(0);
        CLOSED.set(0);
        String first = runOnce();
        assertThat(BUILT.get()).isEqualTo(2);
        assertThat(CLOSED.get()).as("actors closed at executor shutdown").isEqualTo(2);
        assertThat(ExecutorRuntimes.find(first, "driver")).isNull();
        String second = runOnce();
        assertThat(second).isNotEqualTo(first);
        assertThat(BUILT.get()).as("the new context built its own actors").isEqualTo(4);
        assertThat(CLOSED.get()).isEqualTo(4);
    }

    @Test
    void shouldFailStartupNamingTheUnknownOption() {
        assertThatThrownBy(() -> LocalSpark.start("bad-conf", Map.of("spark.stoker.batch.row", "10")).stop())
                .hasMessageContaining("unknown Stoker option spark.stoker.batch.row; did you mean"
                        + " spark.stoker.batch.rows?");
    }

    @Test
    void shouldFailStartupNamingTheEagerPoolWhoseClassDoesNotLoad() {
        // local[N]: the executor plugin runs inside SparkContext creation, so its failure fails that creation.
        assertThatThrownBy(() -> LocalSpark.start("bad-pool", Map.of(
                "spark.stoker.pool.ghost.class", "com.example.NoSuchActor",
                "spark.stoker.pool.ghost.eager", "true")).stop())
                .hasMessageContaining("actor pool 'ghost' on executor driver: actor class com.example.NoSuchActor"
                        + " cannot be loaded");
    }

    @Test
    void shouldFailStartupNamingTheMalformedValue() {
        assertThatThrownBy(() -> LocalSpark.start("bad-conf", Map.of("spark.stoker.pool.m.class", "x.Y",
                "spark.stoker.pool.m.count", "zero")).stop())
                .hasMessageContaining("spark.stoker.pool.m.count=zero is not a whole number");
    }
}
