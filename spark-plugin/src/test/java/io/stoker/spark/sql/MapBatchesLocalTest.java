package io.stoker.spark.sql;

import io.stoker.spark.Stoker;
import io.stoker.spark.actor.ActorPoolSpec;
import io.stoker.spark.graph.GraphSpec;
import io.stoker.spark.metrics.StokerMetrics;
import io.stoker.spark.plugin.ExecutorReport;
import io.stoker.spark.testing.LocalSpark;
import io.stoker.spark.testing.TestActors;
import org.apache.spark.SparkEnv;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The operator in local[2]: one executor (in the driver JVM), two task threads sharing its actors. */
@Timeout(120)
class MapBatchesLocalTest {
    private static final StructType DOUBLED = new StructType().add("doubled", DataTypes.LongType, false);
    private static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = LocalSpark.start("MapBatchesLocalTest", Map.of(
                "spark.stoker.pool.doubler.class", TestActors.Doubler.class.getName(),
                "spark.stoker.pool.doubler.eager", "true",
                "spark.stoker.pool.broken.class", TestActors.Broken.class.getName(),
                "spark.stoker.batch.rows", "100"));
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    private static Dataset<Row> ids(long n, int partitions) {
        spark.range(0, n, 1, partitions).createOrReplaceTempView("ids");
        return spark.sql("SELECT id, CAST(id AS STRING) AS label FROM ids");
    }

    @Test
    void shouldAppendGraphOutputToEveryInputRow() {
        Dataset<Row> out = ids(1000, 8).transform(Stoker.mapBatches(GraphSpec.of("double", "doubler", "doubled"),
                DOUBLED));
        assertThat(out.columns()).containsExactly("id", "label", "doubled");
        List<Row> rows = out.orderBy("id").collectAsList();
        assertThat(rows).hasSize(1000);
        for (Row r : rows) {
            assertThat(r.getLong(2)).isEqualTo(2 * r.getLong(0));
            assertThat(r.getString(1)).isEqualTo(Long.toString(r.getLong(0)));
        }
    }

    @Test
    void shouldConstructEachActorOnceAcrossJobsStagesAndTasks() {
        GraphSpec spec = GraphSpec.of("double", "doubler", "doubled");
        long before = report().metric(StokerMetrics.TASKS);
        for (int job = 0; job < 3; job++) {
            long sum = ids(800, 8).transform(Stoker.mapBatches(spec, DOUBLED)).selectExpr("sum(doubled)")
                    .first().getLong(0);
            assertThat(sum).isEqualTo(799L * 800);
        }
        ExecutorReport r = report();
        assertThat(r.metric(StokerMetrics.TASKS) - before).isEqualTo(24);
        assertThat(r.pools()).containsEntry("doubler", 1);
        assertThat(r.poolActorInits()).as("eager doubler pool, one actor, built once").containsEntry("doubler", 1L);
        assertThat(r.metric(StokerMetrics.ARROW_ALLOCATED_BYTES)).as("no batch left allocated").isZero();
    }

    @Test
    void shouldCompileEachSpecOncePerExecutorAndShareItAcrossConcurrentTasks() {
        long before = report().metric(StokerMetrics.GRAPH_COMPILES);
        long batchesBefore = report().metric(StokerMetrics.BATCHES);
        for (int job = 0; job < 2; job++) {
            // Rebuilt per job, as user code would: equal specs share one key, so one compiled graph.
            GraphSpec spec = GraphSpec.builder("shared").actor("d", "doubler", "doubled", GraphSpec.INPUT).build();
            assertThat(ids(2000, 6).transform(Stoker.mapBatches(spec, DOUBLED)).count()).isEqualTo(2000);
        }
        ExecutorReport r = report();
        assertThat(r.metric(StokerMetrics.GRAPH_COMPILES) - before).isEqualTo(1);
        assertThat(r.metric(StokerMetrics.BATCHES) - batchesBefore).as("2 jobs x 6 partitions x ceil(333/100)")
                .isEqualTo(2 * 6 * 4);
    }

    @Test
    void shouldPassInputThroughIdentityGraphWithDroppedInput() {
        Dataset<Row> in = ids(500, 3);
        Dataset<Row> out = in.transform(Stoker.mapBatches(GraphSpec.identity(), in.schema()).dropInput()
                .batchRows(64));
        assertThat(out.columns()).containsExactly("id", "label");
        assertThat(out.except(in).count()).isZero();
        assertThat(out.count()).isEqualTo(500);
    }

    @Test
    void shouldRunPoolsDeclaredInCodeWithFactories() {
        GraphSpec spec = GraphSpec.builder("coded")
                .pool(ActorPoolSpec.ofFactory("coded-doubler", TestActors.Doubler::new).withCount(2))
                .actor("d", "coded-doubler", "doubled", GraphSpec.INPUT)
                .build();
        long sum = ids(100, 4).transform(Stoker.mapBatches(spec, DOUBLED)).selectExpr("sum(doubled)").first()
                .getLong(0);
        assertThat(sum).isEqualTo(99L * 100);
        assertThat(report().pools()).containsEntry("coded-doubler", 2);
    }

    @Test
    void shouldFailJobNamingTheMissingMethodWhenSpecDoesNotCompile() {
        Dataset<Row> out = ids(10, 2).transform(Stoker.mapBatches(GraphSpec.of("typo", "doubler", "doubeld"),
                DOUBLED));
        assertThatThrownBy(out::collectAsList)
                .hasMessageContaining("graph spec 'typo'")
                .hasMessageContaining("has no public method 'doubeld' taking 1 argument(s)");
    }

    @Test
    void shouldFailJobNamingTheConstructorFailure() {
        Dataset<Row> out = ids(10, 2).transform(Stoker.mapBatches(GraphSpec.of("b", "broken", "run"), DOUBLED));
        assertThatThrownBy(out::collectAsList)
                .hasMessageContaining("actor 'broken-0' of pool 'broken'")
                .hasMessageContaining("model weights are corrupt (test)");
    }

    @Test
    void shouldFailJobNamingTheMismatchedColumnType() {
        Dataset<Row> out = ids(10, 2).transform(Stoker.mapBatches(GraphSpec.of("wrong", "doubler", "wrongType"),
                DOUBLED));
        assertThatThrownBy(out::collectAsList)
                .hasMessageContaining("does not match the declared output schema")
                .hasMessageContaining("column 'doubled' has Arrow type Utf8");
    }

    @Test
    void shouldFailJobNamingTheFailingBatch() {
        Dataset<Row> out = ids(100, 2).transform(Stoker.mapBatches(GraphSpec.of("poison", "doubler", "failOn13"),
                DOUBLED));
        assertThatThrownBy(out::collectAsList)
                .hasMessageContaining("Stoker graph 'poison' failed on batch 0 of partition 0")
                .hasMessageContaining("row id=13 is poisoned");
    }

    @Test
    void shouldRejectOutputColumnThatClashesWithKeptInput() {
        assertThatThrownBy(() -> ids(10, 1).transform(Stoker.mapBatches(GraphSpec.of("x", "doubler", "doubled"),
                new StructType().add("id", DataTypes.LongType))))
                .hasMessageContaining("output column 'id' clashes with a kept input column");
    }

    @Test
    void shouldRejectUnknownPoolOnTheDriver() {
        assertThatThrownBy(() -> ids(10, 1).transform(Stoker.mapBatches(GraphSpec.of("x", "nosuch", "m"), DOUBLED)))
                .hasMessageContaining("uses actor pool 'nosuch', which is neither configured");
    }

    @Test
    void shouldRefuseOnTheDriverAPoolDeclaredInCodeDifferentlyFromTheConfiguration() {
        long jobsBefore = spark.sparkContext().statusTracker().getJobIdsForGroup(null).length;
        GraphSpec spec = GraphSpec.builder("clash")
                .pool(ActorPoolSpec.ofClass("doubler", TestActors.SlowLoader.class).withCount(2))
                .actor("d", "doubler", "doubled", GraphSpec.INPUT)
                .build();
        // Thrown by transform itself (MapBatches.apply on the driver), not by an action: no job, no actor load.
        assertThatThrownBy(() -> ids(10, 1).transform(Stoker.mapBatches(spec, DOUBLED)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("graph spec 'clash' declares actor pool 'doubler' as ActorPoolSpec[doubler, "
                        + TestActors.SlowLoader.class.getName() + ", count=2")
                .hasMessageContaining("but the configuration (spark.stoker.pool.doubler.*) declares it as"
                        + " ActorPoolSpec[doubler, " + TestActors.Doubler.class.getName() + ", count=auto");
        assertThat(spark.sparkContext().statusTracker().getJobIdsForGroup(null)).hasSize((int) jobsBefore);
    }

    @Test
    void shouldPublishMetricsThroughSparksMetricsSystem() {
        ids(10, 1).transform(Stoker.mapBatches(GraphSpec.of("double", "doubler", "doubled"), DOUBLED)).count();
        var sources = SparkEnv.get().metricsSystem().getSourcesByName("plugin." + io.stoker.spark.StokerSparkPlugin
                .class.getName());
        assertThat(sources.isEmpty()).isFalse();
        var names = sources.head().metricRegistry().getNames();
        assertThat(names).contains(StokerMetrics.ACTOR_INITS, StokerMetrics.ROWS_IN, StokerMetrics.ROWS_OUT,
                StokerMetrics.BATCHES, StokerMetrics.EXECUTIONS, StokerMetrics.BATCH_LATENCY);
    }

    private static ExecutorReport report() {
        Map<String, ExecutorReport> reports = Stoker.executorReports(spark);
        assertThat(reports).containsKey("driver");
        return reports.get("driver");
    }
}
