package io.stoker.it;

import io.stoker.llm.testkit.RandomModelWriter;
import io.stoker.llm.tensor.DType;
import io.stoker.spark.Stoker;
import io.stoker.spark.llm.Llm;
import io.stoker.spark.metrics.StokerMetrics;
import io.stoker.spark.plugin.ExecutorReport;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.SparkStageInfo;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * llmMap on a local cluster (two executor JVMs) with a model on HDFS: one model load per executor across jobs, and
 * seeded output that survives an executor's SIGKILL mid-job unchanged, one row per input row.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 600, unit = TimeUnit.SECONDS)
class LlmClusterTest {
    /** Big enough that a job lasts seconds (to kill an executor in it), small enough to load in milliseconds. */
    private static final RandomModelWriter.Spec SPEC = new RandomModelWriter.Spec("LlamaForCausalLM", 192, 384, 4, 6,
            3, 384, 512, false, false, 21);

    private static MiniDFSCluster dfs;
    private static SparkSession spark;
    private static String modelUri;

    @BeforeAll
    static void start() throws Exception {
        Path local = Path.of("target", "llm-cluster-model").toAbsolutePath();
        RandomModelWriter.writeHf(SPEC, local, DType.F32);
        Configuration c = new Configuration();
        c.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, Path.of("target", "minidfs-llm").toAbsolutePath().toString());
        dfs = new MiniDFSCluster.Builder(c).numDataNodes(1).build();
        FileSystem fs = dfs.getFileSystem();
        fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(local.toUri()), new org.apache.hadoop.fs.Path("/models/tiny"));
        modelUri = "hdfs://127.0.0.1:" + dfs.getNameNodePort() + "/models/tiny";
        spark = Clusters.start(Clusters.LOCAL_CLUSTER, "LlmClusterTest", Map.of("spark.task.maxFailures", "4"));
        LocalClusterTest.awaitExecutors(spark, 2);
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

    private static Dataset<Row> questions(int n, int partitions) {
        return spark.range(0, n, 1, partitions).selectExpr("id", "concat('question number ', id % 97) AS q");
    }

    private static Llm sampled(int maxTokens) {
        return Llm.model(modelUri).maxTokens(maxTokens).temperature(0.8).topK(40).seed(77).returnTokenIds(true)
                .option("ignore_eos", true).batchRows(8).maxInFlightPerTask(32);
    }

    private static Map<Long, List<Integer>> run(Dataset<Row> df) {
        Map<Long, List<Integer>> m = new TreeMap<>();
        for (Row r : df.select("id", "token_ids", "error").collectAsList()) {
            assertThat(r.<String>getAs("error")).as("row " + r.getLong(0)).isNull();
            assertThat(m.put(r.getLong(0), r.getList(1))).as("row " + r.getLong(0) + " appears once").isNull();
        }
        return m;
    }

    @Test
    @Order(1)
    void shouldLoadTheModelOncePerExecutorAcrossThreeJobs() {
        for (int job = 0; job < 3; job++) {
            assertThat(run(questions(64, 8).transform(Stoker.llm(sampled(4)).prompt(col("q"))))).hasSize(64);
        }
        int executors = 0;
        for (ExecutorReport r : Stoker.executorReports(spark).values()) {
            if (r.metric(StokerMetrics.LLM_ROWS) > 0) {
                executors++;
                assertThat(r.metric(StokerMetrics.LLM_MODEL_LOADS)).as("model loads on executor " + r.executorId())
                        .isEqualTo(1);
                assertThat(r.metric(StokerMetrics.ARTIFACT_FETCHES)).as("HDFS fetches on " + r.executorId())
                        .isEqualTo(1);
            }
        }
        assertThat(executors).as("both executors ran LLM rows").isEqualTo(2);
    }

    /** The same rows, partitioned differently, with an executor killed mid-job, give a clean run's output. */
    @Test
    @Order(99)
    void shouldReproduceACleanRunDespiteAnExecutorKilledMidJob() throws Exception {
        int n = 192;
        Map<Long, List<Integer>> clean = run(questions(n, 4).transform(Stoker.llm(sampled(12)).prompt(col("q"))));
        assertThat(clean).hasSize(n);
        ExecutorService bg = Executors.newSingleThreadExecutor();
        try {
            Future<Map<Long, List<Integer>>> job = bg.submit(() -> {
                SparkSession.setActiveSession(spark);
                return run(questions(n, 16).transform(Stoker.llm(sampled(12)).prompt(col("q"))));
            });
            long victim = awaitRunningJobThenPickExecutorPid();
            assertThat(new ProcessBuilder("kill", "-9", Long.toString(victim)).start().waitFor()).isZero();
            Map<Long, List<Integer>> killed = job.get(500, TimeUnit.SECONDS);
            assertThat(ProcessHandle.of(victim).map(ProcessHandle::isAlive).orElse(false)).isFalse();
            assertThat(killed).hasSize(n).isEqualTo(clean);
        } finally {
            bg.shutdownNow();
        }
    }

    private static long awaitRunningJobThenPickExecutorPid() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            for (int stage : spark.sparkContext().statusTracker().getActiveStageIds()) {
                SparkStageInfo info = spark.sparkContext().statusTracker().getStageInfo(stage).getOrElse(() -> null);
                if (info != null && info.numTasks() == 16 && info.numCompletedTasks() >= 2
                        && info.numActiveTasks() > 0) {
                    for (ExecutorReport r : Stoker.executorReports(spark).values()) {
                        if (r.metric(StokerMetrics.LLM_ROWS) > 0
                                && ProcessHandle.of(r.pid()).map(ProcessHandle::isAlive).orElse(false)) {
                            return r.pid();
                        }
                    }
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the job never had finished and running tasks at once within 120 s");
    }
}
