package io.stoker.it;

import io.stoker.examples.spark.SparkDemo;
import io.stoker.spark.Stoker;
import io.stoker.spark.graph.GraphSpec;
import io.stoker.spark.plugin.ExecutorReport;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fake GPUs on a local cluster: each worker's discovery script claims the next two addresses (worker A gets 0,1,
 * worker B gets 2,3), Spark hands them to the executors, and Stoker pins one scorer actor to each address an
 * executor got, and to no other.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class GpuPinningClusterTest {
    private static SparkSession spark;

    @BeforeAll
    static void start() throws Exception {
        Path script = FakeGpus.discoveryScript("fake-gpus");
        Map<String, String> conf = new HashMap<>();
        conf.put("spark.worker.resource.gpu.amount", "2");
        conf.put("spark.worker.resource.gpu.discoveryScript", script.toString());
        conf.put("spark.executor.resource.gpu.amount", "2");
        conf.put("spark.task.resource.gpu.amount", "1");
        spark = Clusters.start(Clusters.LOCAL_CLUSTER, "GpuPinningClusterTest", conf);
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    @Test
    void shouldPinOneActorToEachGpuAddressSparkAssignedEachExecutor() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (spark.sparkContext().statusTracker().getExecutorInfos().length < 3) {
            assertThat(System.nanoTime()).as("2 executors within 60 s").isLessThan(deadline);
            Thread.sleep(100);
        }
        StructType out = new StructType().add("score", DataTypes.DoubleType).add("tokens", DataTypes.IntegerType)
                .add("placement", DataTypes.StringType);
        GraphSpec spec = SparkDemo.graph(0);
        List<Row> placements = spark.range(0, 4000, 1, 8).selectExpr("id", "concat('text ', id) AS text")
                .transform(Stoker.mapBatches(spec, out).batchRows(100))
                .select("placement").distinct().collectAsList();

        // What Spark itself told the tasks: executor id -> GPU addresses seen by its tasks.
        List<String> seen = spark.range(0, 8, 1, 8).mapPartitions((MapPartitionsFunction<Long, String>) it -> {
            String[] a = TaskContext.get().resourcesJMap().get("gpu").addresses();
            return List.of(SparkEnv.get().executorId() + "=" + String.join(",", a)).iterator();
        }, Encoders.STRING()).collectAsList();
        Map<String, Set<String>> taskGpus = new HashMap<>();
        for (String s : seen) {
            String[] kv = s.split("=");
            taskGpus.computeIfAbsent(kv[0], k -> new HashSet<>()).addAll(List.of(kv[1].split(",")));
        }

        Map<String, ExecutorReport> reports = Stoker.executorReports(spark);
        assertThat(reports).hasSize(2);
        Set<String> all = new HashSet<>();
        for (ExecutorReport r : reports.values()) {
            Set<String> assigned = new HashSet<>(r.gpuAddresses());
            assertThat(assigned).as("executor " + r.executorId() + " got two GPU addresses").hasSize(2);
            assertThat(all.addAll(assigned)).as("executors on one host get distinct addresses").isTrue();
            Set<String> pinned = new HashSet<>();
            List<String> scorers = new ArrayList<>();
            r.actorGpus().forEach((actor, ids) -> {
                if (actor.startsWith("demo-scorer-")) {
                    scorers.add(actor);
                    assertThat(ids).as(actor + " pinned to one GPU").hasSize(1);
                    pinned.addAll(ids);
                } else {
                    assertThat(ids).as(actor + " is a CPU actor").isEmpty();
                }
            });
            assertThat(scorers).hasSize(2);
            assertThat(pinned).as("scorers of executor " + r.executorId()).isEqualTo(assigned);
            if (taskGpus.containsKey(r.executorId())) {
                assertThat(assigned).containsAll(taskGpus.get(r.executorId()));
            }
        }
        assertThat(all).containsExactlyInAnyOrder("0", "1", "2", "3");
        for (Row p : placements) {
            String[] parts = p.getString(0).split("/"); // executor/actor/gpuN
            assertThat(parts[2]).startsWith("gpu");
            assertThat(reports.get(parts[0]).gpuAddresses()).contains(parts[2].substring(3));
        }
    }
}
