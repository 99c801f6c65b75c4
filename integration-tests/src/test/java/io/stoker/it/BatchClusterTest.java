package io.stoker.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stoker.llm.testkit.RandomModelWriter;
import io.stoker.llm.tensor.DType;
import io.stoker.spark.Stoker;
import io.stoker.spark.batch.BatchRun;
import io.stoker.spark.batch.BatchSpec;
import io.stoker.spark.batch.BatchSummary;
import io.stoker.spark.llm.Llm;
import io.stoker.spark.metrics.StokerMetrics;
import io.stoker.spark.plugin.ExecutorReport;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code stoker batch}'s engine ({@link BatchRun}) on a local cluster (two executor JVMs) with input and output on
 * HDFS: one output file on HDFS in input order, answered by both executors, and a rerun that has nothing left to do.
 */
@Timeout(value = 600, unit = TimeUnit.SECONDS)
class BatchClusterTest {
    private static final RandomModelWriter.Spec SPEC = new RandomModelWriter.Spec("LlamaForCausalLM", 64, 128, 2, 4,
            2, 384, 256, false, false, 11);
    private static final ObjectMapper JSON = new ObjectMapper();

    private static MiniDFSCluster dfs;
    private static SparkSession spark;
    private static String model;

    @BeforeAll
    static void start() throws Exception {
        Path local = Path.of("target", "batch-cluster-model").toAbsolutePath();
        RandomModelWriter.writeHf(SPEC, local, DType.F32);
        model = local.toString();
        Configuration c = new Configuration();
        c.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, Path.of("target", "minidfs-batch").toAbsolutePath().toString());
        dfs = new MiniDFSCluster.Builder(c).numDataNodes(1).build();
        spark = Clusters.start(Clusters.LOCAL_CLUSTER, "BatchClusterTest", Map.of("spark.task.maxFailures", "4"));
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

    @Test
    void shouldAnswerAnHdfsFileOnTwoExecutorsIntoOneHdfsFileInInputOrder() throws Exception {
        String base = "hdfs://127.0.0.1:" + dfs.getNameNodePort() + "/batches";
        FileSystem fs = dfs.getFileSystem();
        int n = 200;
        try (FSDataOutputStream out = fs.create(new org.apache.hadoop.fs.Path("/batches/requests.jsonl"))) {
            for (int i = 0; i < n; i++) {
                String url = i % 3 == 0 ? "/v1/completions" : "/v1/chat/completions";
                String body = i % 3 == 0 ? "{\"model\": \"tiny\", \"prompt\": \"Once upon a time " + i + "\"}"
                        : "{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"question " + i
                        + "\"}], \"max_tokens\": 2}";
                out.write(("{\"custom_id\": \"r" + i + "\", \"method\": \"POST\", \"url\": \"" + url + "\", \"body\": "
                        + body + "}\n").getBytes(StandardCharsets.UTF_8));
            }
        }
        BatchSpec spec = BatchSpec.local(base + "/requests.jsonl", base + "/results.jsonl",
                Llm.model(model).maxTokens(3).temperature(0), List.of("tiny")).withPartitions(8);
        BatchSummary s = BatchRun.run(spark, spec, null);
        assertThat(s.lines()).isEqualTo(n);
        assertThat(s.ok()).isEqualTo(n);

        List<String> lines = read(fs, "/batches/results.jsonl");
        assertThat(lines).hasSize(n);
        for (int i = 0; i < n; i++) {
            JsonNode l = JSON.readTree(lines.get(i));
            assertThat(l.get("custom_id").asText()).isEqualTo("r" + i);
            JsonNode body = l.get("response").get("body");
            assertThat(body.get("object").asText()).isEqualTo(i % 3 == 0 ? "text_completion" : "chat.completion");
            assertThat(body.get("usage").get("completion_tokens").asInt()).isBetween(1, i % 3 == 0 ? 3 : 2);
        }
        List<String> names = new ArrayList<>();
        for (FileStatus st : fs.listStatus(new org.apache.hadoop.fs.Path("/batches"))) {
            names.add(st.getPath().getName());
        }
        assertThat(names).as("one output file, no parts or work directory left")
                .containsExactlyInAnyOrder("requests.jsonl", "results.jsonl");
        int executors = 0;
        for (ExecutorReport r : Stoker.executorReports(spark).values()) {
            executors += r.metric(StokerMetrics.LLM_ROWS) > 0 ? 1 : 0;
        }
        assertThat(executors).as("both executors answered requests").isEqualTo(2);

        BatchSummary again = BatchRun.run(spark, spec, null);
        assertThat(again.ranNow()).isZero();
        assertThat(again.fromEarlier()).isEqualTo(n);
        assertThat(read(fs, "/batches/results.jsonl")).isEqualTo(lines);
    }

    private static List<String> read(FileSystem fs, String path) throws Exception {
        List<String> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(fs.open(new org.apache.hadoop.fs.Path(path)),
                StandardCharsets.UTF_8))) {
            for (String l = r.readLine(); l != null; l = r.readLine()) {
                out.add(l);
            }
        }
        return out;
    }
}
