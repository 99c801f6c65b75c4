package io.stoker.it;

import io.stoker.llm.tensor.DType;
import io.stoker.llm.testkit.RandomModelWriter;
import io.stoker.spark.executor.ExecutorRuntime;
import io.stoker.spark.executor.ExecutorRuntimes;
import io.stoker.spark.llm.Llm;
import io.stoker.spark.llm.LlmProcessor;
import io.stoker.spark.plugin.DriverState;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A local cluster whose executors have fake GPUs and run CUDA on the simulator (the test double for a GPU; build
 * machines have none): each worker's discovery script claims two addresses (0,1 and 2,3), the simulator has four
 * devices, and every executor JVM gets the simulator's system properties through spark.executor.extraJavaOptions,
 * plus the given simulator options (fault injection).
 */
final class SimulatedGpuCluster {
    /** Tiny enough for the simulator (every CUDA thread is a CPU thread), with a tokenizer and a chat template. */
    static final RandomModelWriter.Spec MODEL = new RandomModelWriter.Spec("LlamaForCausalLM", 64, 128, 2, 4, 2, 384,
            256, false, false, 11);

    private SimulatedGpuCluster() {
    }

    /** Starts local-cluster[2,1,1024] with two fake GPUs per executor; {@code simOptions}: NAME=VALUE. */
    static SparkSession start(String name, Map<String, String> extraConf, String... simOptions) throws IOException {
        Path script = FakeGpus.discoveryScript("fake-gpus-" + name);
        Path sim = Path.of(System.getProperty("stoker.it.cudasimDir", "target/cudasim")).toAbsolutePath();
        StringBuilder opts = new StringBuilder("-XX:TieredStopAtLevel=1 -Dstoker.cuda=sim")
                .append(" -Dstoker.cuda.sim.library=").append(sim.resolve("libstoker-cudasim.so"))
                .append(" -Dstoker.cuda.sim.kernels=").append(sim.resolve("libllm-kernels.so"))
                .append(" -Dstoker.cuda.sim.option.devices=4");
        for (String o : simOptions) {
            opts.append(" -Dstoker.cuda.sim.option.").append(o);
        }
        Map<String, String> conf = new HashMap<>();
        conf.put("spark.worker.resource.gpu.amount", "2");
        conf.put("spark.worker.resource.gpu.discoveryScript", script.toString());
        conf.put("spark.executor.resource.gpu.amount", "2");
        conf.put("spark.task.resource.gpu.amount", "1");
        conf.put("spark.executor.extraJavaOptions", opts.toString());
        conf.putAll(extraConf);
        SparkSession spark = Clusters.start(Clusters.LOCAL_CLUSTER, name, conf);
        try {
            LocalClusterTest.awaitExecutors(spark, 2);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            spark.stop();
            throw new IllegalStateException(e);
        } catch (RuntimeException | Error e) {
            spark.stop(); // the caller never gets the session to stop: do not leave the cluster to the next test
            throw e;
        }
        return spark;
    }

    static synchronized String model() {
        Path dir = Path.of("target", "llm-cuda-model").toAbsolutePath();
        if (!Files.exists(dir.resolve("tokenizer_config.json"))) {
            try {
                RandomModelWriter.writeHf(MODEL, dir, DType.F32);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return dir.toString();
    }

    /** The LLM call the GPU cluster tests share: {@link #model()}, 6 greedy tokens (EOS ignored) with their ids. */
    static Llm llm(String device) {
        return Llm.model(model()).device(device).maxTokens(6).returnTokenIds(true).option("ignore_eos", true)
                .kvCacheMb(4).batchRows(4);
    }

    static Dataset<Row> questions(SparkSession spark, int n, int partitions) {
        return spark.range(0, n, 1, partitions).selectExpr("id", "concat('question number ', id) AS q");
    }

    /** @return id → generated token ids, or id → the row's error (as a one-element list of the message) */
    static Map<Long, Object> outputs(Dataset<Row> df) {
        Map<Long, Object> m = new TreeMap<>();
        for (Row r : df.select("id", "token_ids", "error").collectAsList()) {
            Object v = r.isNullAt(2) ? r.getList(1) : r.getString(2);
            assertThat(m.put(r.getLong(0), v)).as("row " + r.getLong(0) + " appears once").isNull();
        }
        return m;
    }

    /**
     * @return per executor, its live runtime actors whose name matches {@code namePattern} (a regex), each as
     * {@code name@gpu,gpu} (the GPU ids it holds), as its tasks see them
     */
    static Map<String, List<String>> actorGpus(SparkSession spark, String namePattern) {
        String session = DriverState.forContext(spark.sparkContext()).session();
        Map<String, List<String>> out = new TreeMap<>();
        for (String s : spark.range(0, 8, 1, 8).mapPartitions((MapPartitionsFunction<Long, String>) it -> {
            ExecutorRuntime rt = ExecutorRuntimes.find(session, SparkEnv.get().executorId());
            List<String> a = new ArrayList<>();
            for (io.stoker.runtime.actor.ActorHandle<?> h : rt.runtime().actors()) {
                if (h.isAlive() && h.name().matches(namePattern)) {
                    a.add(h.name() + "@" + String.join(",", h.gpuIds()));
                }
            }
            return List.of(SparkEnv.get().executorId() + "=" + String.join(";", a)).iterator();
        }, Encoders.STRING()).collectAsList()) {
            String[] kv = s.split("=", 2);
            out.put(kv[0], kv[1].isEmpty() ? List.of() : List.of(kv[1].split(";")));
        }
        return out;
    }

    /** @return per executor, the backends of the engines of its LLM processors (e.g. cuda:2), as its tasks see them */
    static Map<String, List<String>> engineBackends(SparkSession spark) {
        String session = DriverState.forContext(spark.sparkContext()).session();
        Map<String, List<String>> out = new TreeMap<>();
        for (String s : spark.range(0, 8, 1, 8).mapPartitions((MapPartitionsFunction<Long, String>) it -> {
            ExecutorRuntime rt = ExecutorRuntimes.find(session, SparkEnv.get().executorId());
            List<String> b = new ArrayList<>();
            for (AutoCloseable svc : rt.services()) {
                if (svc instanceof LlmProcessor p) {
                    p.engines().forEach(e -> b.add(e.config().backend()));
                }
            }
            return List.of(SparkEnv.get().executorId() + "=" + String.join(",", b)).iterator();
        }, Encoders.STRING()).collectAsList()) {
            String[] kv = s.split("=", 2);
            out.put(kv[0], kv[1].isEmpty() ? List.of() : List.of(kv[1].split(",")));
        }
        return out;
    }
}
