package io.stoker.benchmarks.batch;

import io.stoker.llm.testkit.RandomModelWriter;
import io.stoker.llm.tensor.DType;
import io.stoker.spark.Stoker;
import io.stoker.spark.StokerSparkPlugin;
import io.stoker.spark.batch.BatchRun;
import io.stoker.spark.batch.BatchSpec;
import io.stoker.spark.batch.BatchSummary;
import io.stoker.spark.llm.Llm;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.BufferedWriter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.apache.spark.sql.functions.col;

/**
 * Inputs and the peer of the {@code bin/stoker batch} benchmark (docs/performance.md, "stoker batch"):
 * <ul>
 *   <li>{@code files --dir D [--lines N] [--max-tokens K] [--pad BYTES] [--model-name NAME]}: writes a tiny random
 *   Llama to {@code D/model} (the spark-plugin tests' shape) and {@code D/requests-N.jsonl}: N chat requests with
 *   distinct prompts, {@code max_tokens} K, temperature 0, padded with BYTES of text, naming model NAME.</li>
 *   <li>{@code llmmap --model D/model --input FILE [--master local[2]] [--partitions P]}: the same requests through
 *   {@code spark.read.format("openai-batch")} and llmMap into Spark's {@code noop} sink: what the batch command costs
 *   above llmMap itself (no parts, no merge, no output file). Prints one JSON object.</li>
 *   <li>{@code interleaved --model D/model --input FILE [--rounds R]}: both in one JVM and one SparkSession, in
 *   alternating order after a warm-up round, so background load on a shared machine hits both alike: the batch run
 *   ({@code BatchRun}, as {@code bin/stoker batch --overwrite} runs it) and the llmMap peer; prints each one's median
 *   rows/s and the median of the per-round ratios.</li>
 * </ul>
 */
public final class BatchBenchCommand {
    private static final RandomModelWriter.Spec TINY = new RandomModelWriter.Spec("LlamaForCausalLM", 64, 128, 2, 4, 2,
            384, 256, false, false, 11);

    private BatchBenchCommand() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || args[0].equals("--help")) {
            System.out.println("usage: BatchBenchCommand files --dir D [--lines N] [--max-tokens K] [--pad BYTES]"
                    + " [--model-name NAME]\n       BatchBenchCommand llmmap --model DIR --input FILE"
                    + " [--master local[2]] [--partitions P]");
            return;
        }
        String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "files" -> files(rest);
            case "llmmap" -> llmMap(rest);
            case "interleaved" -> interleaved(rest);
            default -> throw new IllegalArgumentException("unknown command " + args[0] + " (files, llmmap)");
        }
    }

    static void files(String[] args) throws IOException {
        Path dir = null;
        long lines = 10_000;
        int maxTokens = 8;
        int pad = 0;
        String modelName = "tiny";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--dir" -> dir = Path.of(args[++i]);
                case "--lines" -> lines = Long.parseLong(args[++i]);
                case "--max-tokens" -> maxTokens = Integer.parseInt(args[++i]);
                case "--pad" -> pad = Integer.parseInt(args[++i]);
                case "--model-name" -> modelName = args[++i];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (dir == null) {
            throw new IllegalArgumentException("--dir is required");
        }
        Files.createDirectories(dir);
        Path model = dir.resolve("model");
        if (!Files.exists(model.resolve("tokenizer_config.json"))) {
            RandomModelWriter.writeHf(TINY, model, DType.F32);
        }
        Path requests = dir.resolve("requests-" + lines + ".jsonl");
        String padding = " " + "lorem ipsum ".repeat(Math.max(0, pad / 12));
        try (BufferedWriter w = Files.newBufferedWriter(requests, StandardCharsets.UTF_8)) {
            for (long i = 0; i < lines; i++) {
                w.write("{\"custom_id\": \"request-" + i + "\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\","
                        + " \"body\": {\"model\": \"" + modelName + "\", \"messages\": [{\"role\": \"user\","
                        + " \"content\": \"Question " + i + ": what comes next?" + (pad > 0 ? padding : "") + "\"}],"
                        + " \"max_tokens\": " + maxTokens + ", \"temperature\": 0}}\n");
            }
        }
        System.out.println(model + " " + requests + " " + Files.size(requests));
    }

    static void llmMap(String[] args) {
        String model = null;
        String input = null;
        String master = "local[2]";
        int partitions = 4;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = args[++i];
                case "--input" -> input = args[++i];
                case "--master" -> master = args[++i];
                case "--partitions" -> partitions = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        long t0 = System.nanoTime();
        SparkSession spark = SparkSession.builder().master(master).appName("batch-llmmap-bench")
                .config("spark.ui.enabled", "false").config("spark.plugins", StokerSparkPlugin.class.getName())
                .getOrCreate();
        try {
            spark.sparkContext().setLogLevel("WARN");
            long t1 = System.nanoTime();
            Dataset<Row> requests = spark.read().format("openai-batch").option("minPartitions", partitions)
                    .load(input);
            long rows = requests.count();
            requests.transform(Stoker.llm(Llm.model(model).maxTokens(128)).messages(col("messages"))
                    .sampling(col("sampling"))).write().format("noop").mode("overwrite").save();
            double seconds = (System.nanoTime() - t1) / 1e9;
            System.out.printf("{\"benchmark\": \"llmmap\", \"rows\": %d, \"seconds_after_session\": %.3f,"
                            + " \"seconds_with_session\": %.3f, \"rows_per_second\": %.2f, \"peak_heap_bytes\": %d}%n",
                    rows, seconds, (System.nanoTime() - t0) / 1e9, rows / seconds, peakHeap());
        } finally {
            spark.stop();
        }
    }

    static void interleaved(String[] args) {
        String model = null;
        String input = null;
        int rounds = 5;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = args[++i];
                case "--input" -> input = args[++i];
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        SparkSession spark = SparkSession.builder().master("local[2]").appName("batch-interleaved-bench")
                .config("spark.ui.enabled", "false").config("spark.plugins", StokerSparkPlugin.class.getName())
                .getOrCreate();
        try {
            spark.sparkContext().setLogLevel("WARN");
            Llm llm = Llm.model(model).maxTokens(128).temperature(1.0);
            String output = input.replace(".jsonl", "") + "-interleaved-results.jsonl";
            BatchSpec spec = BatchSpec.local(input, output, llm, List.of("tiny")).withOverwrite(true);
            List<Double> batch = new ArrayList<>();
            List<Double> peer = new ArrayList<>();
            List<Double> ratios = new ArrayList<>();
            long rows = 0;
            for (int r = -1; r < rounds; r++) { // round -1 warms up
                double b = 0;
                double p = 0;
                for (int k = 0; k < 2; k++) {
                    boolean batchFirst = Math.floorMod(r, 2) == 0;
                    if ((k == 0) == batchFirst) {
                        long t = System.nanoTime();
                        BatchSummary s = BatchRun.run(spark, spec, null);
                        b = (System.nanoTime() - t) / 1e9;
                        rows = s.lines();
                    } else {
                        long t = System.nanoTime();
                        spark.read().format("openai-batch").option("minPartitions", 4).load(input)
                                .transform(Stoker.llm(llm).messages(col("messages")).sampling(col("sampling")))
                                .write().format("noop").mode("overwrite").save();
                        p = (System.nanoTime() - t) / 1e9;
                    }
                }
                if (r >= 0) {
                    batch.add(rows / b);
                    peer.add(rows / p);
                    ratios.add(p / b);
                }
                System.err.printf("round %d: batch %.1f s, llmMap %.1f s%n", r, b, p);
            }
            System.out.printf("{\"benchmark\": \"interleaved\", \"rows\": %d, \"rounds\": %d,"
                            + " \"batch_rows_per_second_median\": %.1f, \"llmmap_rows_per_second_median\": %.1f,"
                            + " \"batch_vs_llmmap_throughput_median\": %.3f, \"batch\": %s, \"llmmap\": %s}%n",
                    rows, rounds, median(batch), median(peer), median(ratios), batch, peer);
        } finally {
            spark.stop();
        }
    }

    private static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    private static long peakHeap() {
        long peak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
                peak += pool.getPeakUsage().getUsed();
            }
        }
        return peak;
    }
}
