package io.stoker.it;

import io.stoker.spark.Stoker;
import io.stoker.spark.graph.GraphSpec;
import io.stoker.spark.metrics.StokerMetrics;
import io.stoker.spark.plugin.ExecutorReport;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.SparkStageInfo;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * One local cluster (two executor JVMs) and one HDFS (MiniDFSCluster) for: artifacts fetched once per executor,
 * job errors that name their cause, and an executor killed with SIGKILL mid-job (last: it changes the cluster).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class LocalClusterTest {
    private static final StructType DOUBLED = new StructType().add("doubled", DataTypes.LongType)
            .add("executor", DataTypes.StringType);
    private static final StructType MODEL = new StructType().add("model", DataTypes.StringType);
    private static final int WEIGHT_BYTES = 3 * 1024 * 1024 + 17;

    private static MiniDFSCluster dfs;
    private static SparkSession spark;

    @BeforeAll
    static void start() throws Exception {
        Configuration c = new Configuration();
        c.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, Path.of("target", "minidfs").toAbsolutePath().toString());
        dfs = new MiniDFSCluster.Builder(c).numDataNodes(1).build();
        FileSystem fs = dfs.getFileSystem();
        try (FSDataOutputStream o = fs.create(new org.apache.hadoop.fs.Path("/models/tiny/config.txt"))) {
            o.write("tiny-model-v1\nlayers=2\n".getBytes(StandardCharsets.UTF_8));
        }
        try (FSDataOutputStream o = fs.create(new org.apache.hadoop.fs.Path("/models/tiny/weights/w0.bin"))) {
            byte[] b = new byte[WEIGHT_BYTES];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) (i * 7);
            }
            o.write(b);
        }
        String uri = "hdfs://127.0.0.1:" + dfs.getNameNodePort() + "/models/tiny";
        Map<String, String> conf = new HashMap<>();
        conf.put("spark.stoker.pool.reader.class", ItActors.ArtifactReader.class.getName());
        conf.put("spark.stoker.pool.reader.artifacts", "model=" + uri);
        conf.put("spark.stoker.pool.doubler.class", ItActors.Doubler.class.getName());
        conf.put("spark.stoker.pool.slow.class", ItActors.Doubler.class.getName());
        conf.put("spark.stoker.pool.slow.property.batchMillis", "60");
        conf.put("spark.stoker.pool.broken.class", ItActors.Broken.class.getName());
        conf.put("spark.task.maxFailures", "4");
        spark = Clusters.start(Clusters.LOCAL_CLUSTER, "LocalClusterTest", conf);
        awaitExecutors(2);
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
        if (dfs != null) {
            dfs.shutdown();
        }
    }

    static void awaitExecutors(int n) throws InterruptedException {
        awaitExecutors(spark, n);
    }

    static void awaitExecutors(SparkSession spark, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (spark.sparkContext().statusTracker().getExecutorInfos().length < n + 1) {
            assertThat(System.nanoTime()).as(n + " executors registered within 60 s").isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private static Dataset<Row> ids(long n, int partitions) {
        return spark.range(0, n, 1, partitions).toDF();
    }

    @Test
    @Order(1)
    void shouldFetchHdfsArtifactOncePerExecutorAndBuildEachActorOnceAcrossJobs() {
        GraphSpec spec = GraphSpec.of("read-model", "reader", "model");
        for (int job = 0; job < 3; job++) {
            List<Row> rows = ids(4000, 8).transform(Stoker.mapBatches(spec, MODEL).batchRows(300))
                    .groupBy("model").count().collectAsList();
            assertThat(rows).hasSize(1);
            assertThat(rows.get(0).getString(0)).isEqualTo("tiny-model-v1");
            assertThat(rows.get(0).getLong(1)).isEqualTo(4000);
        }
        Map<String, ExecutorReport> reports = Stoker.executorReports(spark);
        long tasks = 0;
        int withReader = 0;
        for (ExecutorReport r : reports.values()) {
            tasks += r.metric(StokerMetrics.TASKS);
            if (r.poolActorInits().containsKey("reader")) {
                withReader++;
                assertThat(r.poolActorInits()).as("executor " + r.executorId()).containsEntry("reader", 1L);
                assertThat(r.metric(StokerMetrics.ARTIFACT_FETCHES)).as("executor " + r.executorId()).isEqualTo(1);
                assertThat(r.metric(StokerMetrics.ARTIFACT_BYTES)).isEqualTo(WEIGHT_BYTES + 23);
            }
        }
        assertThat(tasks).isEqualTo(24);
        assertThat(withReader).as("both executors ran the graph").isEqualTo(2);
    }

    @Test
    @Order(2)
    void shouldFailJobNamingTheStepWhenTheSpecDoesNotCompile() {
        Dataset<Row> out = ids(100, 2).transform(Stoker.mapBatches(GraphSpec.of("typo", "doubler", "dubled"),
                DOUBLED));
        assertThatThrownBy(out::collectAsList)
                .hasMessageContaining("graph spec 'typo' step 'dubled'")
                .hasMessageContaining("has no public method 'dubled' taking 1 argument(s)");
    }

    @Test
    @Order(3)
    void shouldFailJobNamingTheConstructorFailure() {
        Dataset<Row> out = ids(100, 2).transform(Stoker.mapBatches(GraphSpec.of("b", "broken", "run"), DOUBLED));
        assertThatThrownBy(out::collectAsList)
                .hasMessageContaining("of pool 'broken'")
                .hasMessageContaining("checkpoint shard 3 is truncated (test)");
    }

    @Test
    @Order(4)
    void shouldFailJobNamingTheColumnWhoseTypeDoesNotMatch() {
        Dataset<Row> out = ids(100, 2).transform(Stoker.mapBatches(GraphSpec.of("w", "doubler", "wrongType"),
                DOUBLED));
        assertThatThrownBy(out::collectAsList)
                .hasMessageContaining("does not match the declared output schema")
                .hasMessageContaining("column 'doubled' has Arrow type Utf8");
    }

    @Test
    @Order(99)
    void shouldProduceExactlyOneRowPerInputRowWhenAnExecutorIsKilledMidJob() throws Exception {
        long n = 16 * 2000;
        ExecutorService bg = Executors.newSingleThreadExecutor();
        Future<List<Row>> job = bg.submit(() -> ids(n, 16)
                .transform(Stoker.mapBatches(GraphSpec.of("slow", "slow", "doubled"), DOUBLED).batchRows(250))
                .collectAsList());
        try {
            long victim = awaitRunningJobThenPickExecutorPid();
            Process kill = new ProcessBuilder("kill", "-9", Long.toString(victim)).inheritIO().start();
            assertThat(kill.waitFor()).isZero();
            List<Row> rows = job.get(180, TimeUnit.SECONDS);
            assertThat(rows).hasSize((int) n);
            Set<Long> ids = new HashSet<>();
            Set<String> executors = new HashSet<>();
            for (Row r : rows) {
                assertThat(ids.add(r.getLong(0))).as("id " + r.getLong(0) + " appears once").isTrue();
                assertThat(r.getLong(1)).isEqualTo(2 * r.getLong(0));
                executors.add(r.getString(2));
            }
            assertThat(ids).hasSize((int) n);
            assertThat(ProcessHandle.of(victim).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        } finally {
            bg.shutdownNow();
        }
    }

    /** Waits until the job's stage has finished some tasks and still runs others; returns a live executor's pid. */
    private static long awaitRunningJobThenPickExecutorPid() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline) {
            for (int stage : spark.sparkContext().statusTracker().getActiveStageIds()) {
                SparkStageInfo info = spark.sparkContext().statusTracker().getStageInfo(stage).getOrElse(() -> null);
                if (info != null && info.numCompletedTasks() >= 2 && info.numActiveTasks() > 0) {
                    for (ExecutorReport r : Stoker.executorReports(spark).values()) {
                        if (r.poolActorInits().containsKey("slow")
                                && ProcessHandle.of(r.pid()).map(ProcessHandle::isAlive).orElse(false)) {
                            return r.pid();
                        }
                    }
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the job never had finished and running tasks at once within 90 s");
    }
}
