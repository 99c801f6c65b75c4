package io.stoker.benchmarks.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.LoadedModel;
import io.stoker.llm.ModelLoader;
import io.stoker.benchmarks.BenchModels;
import io.stoker.llm.openai.ChatMessage;
import io.stoker.llm.openai.OpenAiClient;
import io.stoker.llm.openai.OpenAiClientConfig;
import io.stoker.llm.openai.OpenAiRequest;
import io.stoker.llm.openai.OpenAiResult;
import io.stoker.spark.Stoker;
import io.stoker.spark.StokerSparkPlugin;
import io.stoker.spark.cli.LocalSparkHome;
import io.stoker.spark.llm.Llm;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

/**
 * {@code bin/stoker bench serve}: the OpenAI-compatible side of Stoker, two benchmarks, JSON lines on stdout.
 *
 * <pre>
 * bin/stoker bench serve [--parts serve,client,llmmap] [--model random:smollm-135m|PATH] [--dtype q8_0] [--clients 32]
 *     [--prompt-tokens 64] [--max-tokens 64] [--threads N] [--kv-cache-mb 256] [--trials 2]
 *     [--in-flight 8,32,128] [--delay-ms 100] [--rounds 20] [--warmup-rounds 2] [--server-url URL]
 * </pre>
 *
 * <ul>
 *   <li>{@code serve}: {@code stoker serve} in its own JVM with {@code --clients} concurrent streaming clients
 *       ({@code /v1/completions}, the same token-id prompts, greedy, {@code ignore_eos}) against the engine alone in
 *       another JVM on the same prompts: generated tokens/s and time to first token (p50, p99).</li>
 *   <li>{@code client}: Stoker's HTTP client ({@code io.stoker.llm.openai}) against a loopback server that answers
 *       every request after a fixed delay: rows/s with N requests in flight against the ideal N/delay. The server
 *       runs in this JVM, or elsewhere with {@code --server-url} (then it must answer after {@code --delay-ms}).</li>
 *   <li>{@code llmmap} (not in the default parts): llmMap's HTTP backend ({@code Llm.openai}) on {@code local[2]}
 *       against the same delayed server, N requests in flight per executor: rows/s of the Spark job against N/delay.</li>
 * </ul>
 */
public final class ServeBenchCommand {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String USAGE = "usage: bin/stoker bench serve [--parts serve,client,llmmap]"
            + " [--model random:smollm-135m|PATH] [--dtype q8_0]\n"
            + "    [--clients 32] [--prompt-tokens 64] [--max-tokens 64] [--threads N] [--kv-cache-mb 256]"
            + " [--trials 2]\n"
            + "    [--in-flight 8,32,128] [--delay-ms 100] [--rounds 20] [--warmup-rounds 2] [--server-url URL]\n";

    private ServeBenchCommand() {
    }

    public static void main(String[] args) throws Exception {
        List<String> parts = List.of("serve", "client");
        String model = "random:smollm-135m";
        String dtype = "q8_0";
        int clients = 32;
        int promptTokens = 64;
        int maxTokens = 64;
        int threads = Runtime.getRuntime().availableProcessors();
        int kvMb = 256;
        int trials = 2;
        List<Integer> inFlight = List.of(8, 32, 128);
        int delayMs = 100;
        int rounds = 20;
        String serverUrl = null;
        int warmup = 2;
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--parts":
                        parts = List.of(args[++i].split(","));
                        break;
                    case "--model":
                        model = args[++i];
                        break;
                    case "--dtype":
                        dtype = args[++i];
                        break;
                    case "--clients":
                        clients = Integer.parseInt(args[++i]);
                        break;
                    case "--prompt-tokens":
                        promptTokens = Integer.parseInt(args[++i]);
                        break;
                    case "--max-tokens":
                        maxTokens = Integer.parseInt(args[++i]);
                        break;
                    case "--threads":
                        threads = Integer.parseInt(args[++i]);
                        break;
                    case "--kv-cache-mb":
                        kvMb = Integer.parseInt(args[++i]);
                        break;
                    case "--trials":
                        trials = Integer.parseInt(args[++i]);
                        break;
                    case "--in-flight":
                        inFlight = Arrays.stream(args[++i].split(",")).map(Integer::parseInt).toList();
                        break;
                    case "--delay-ms":
                        delayMs = Integer.parseInt(args[++i]);
                        break;
                    case "--rounds":
                        rounds = Integer.parseInt(args[++i]);
                        break;
                    case "--server-url":
                        serverUrl = args[++i];
                        break;
                    case "--warmup-rounds":
                        warmup = Integer.parseInt(args[++i]);
                        break;
                    case "--help":
                    case "-h":
                        System.out.print(USAGE);
                        return;
                    default:
                        throw new IllegalArgumentException("unknown option '" + args[i] + "'");
                }
            }
        } catch (RuntimeException e) {
            System.err.println("stoker bench serve: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
        }
        if (parts.contains("serve")) {
            Path m = modelFor(model, dtype);
            int maxBatchTokens = 512;
            int maxNumSeqs = Math.max(64, clients);
            List<String> common = List.of(Integer.toString(threads), Integer.toString(kvMb),
                    Integer.toString(maxBatchTokens), Integer.toString(maxNumSeqs));
            List<String> engine = new ArrayList<>(jvm(System.getProperty("java.class.path")));
            engine.add(EngineAloneWorker.class.getName());
            engine.add(m.toString());
            engine.addAll(common);
            engine.addAll(List.of(Integer.toString(clients), Integer.toString(promptTokens),
                    Integer.toString(maxTokens), Integer.toString(trials)));
            runWorker(engine);
            serveRun(m, threads, kvMb, maxBatchTokens, maxNumSeqs, clients, promptTokens, maxTokens, trials);
        }
        if (parts.contains("client")) {
            for (int n : inFlight) {
                clientRun(n, delayMs, rounds, warmup, serverUrl);
            }
        }
        if (parts.contains("llmmap")) {
            for (int n : inFlight) {
                llmMapRun(n, delayMs, rounds, warmup);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ serve

    private static void serveRun(Path model, int threads, int kvMb, int maxBatchTokens, int maxNumSeqs, int clients,
                                 int promptTokens, int maxTokens, int trials) throws Exception {
        int vocab;
        try (LoadedModel m = ModelLoader.load(model.toString())) {
            vocab = m.config().vocabSize();
        }
        List<String> cmd = new ArrayList<>(jvm(serveClasspath()));
        cmd.addAll(List.of("io.stoker.serve.ServeCommand", "--model", model.toString(), "--port", "0",
                "--served-model-name", "bench", "--threads", Integer.toString(threads), "--kv-cache-mb",
                Integer.toString(kvMb), "--max-batch-tokens", Integer.toString(maxBatchTokens), "--max-num-seqs",
                Integer.toString(maxNumSeqs), "--max-pending", Integer.toString(4 * maxNumSeqs)));
        Path log = Files.createTempFile("stoker-bench-serve", ".log");
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
        try {
            String base = awaitListening(p, log);
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            try {
                streamingRound(http, pool, base, clients, promptTokens, 8, vocab); // warm-up
                for (int t = 0; t < trials; t++) {
                    double[] r = streamingRound(http, pool, base, clients, promptTokens, maxTokens, vocab);
                    ObjectNode o = JSON.createObjectNode();
                    o.put("bench", "serve").put("mode", "serve").put("trial", t + 1).put("clients", clients)
                            .put("prompt_tokens", promptTokens).put("max_tokens", maxTokens)
                            .put("generated_tokens", (long) r[0]).put("wall_s", r[1])
                            .put("tokens_per_s", r[0] / r[1]).put("ttft_p50_ms", r[2]).put("ttft_p99_ms", r[3])
                            .put("threads", threads);
                    System.out.println(JSON.writeValueAsString(o));
                    System.out.flush();
                }
            } finally {
                pool.shutdownNow();
            }
        } finally {
            p.destroy();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            Files.deleteIfExists(log);
        }
    }

    private static String awaitListening(Process p, Path log) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        Pattern url = Pattern.compile("at (http://\\S+/v1)");
        for (String line; (line = r.readLine()) != null; ) {
            Matcher m = url.matcher(line);
            if (m.find()) {
                return m.group(1);
            }
        }
        throw new IllegalStateException("stoker serve exited before listening; its log:\n" + Files.readString(log));
    }

    /** @return generated tokens, wall seconds, TTFT p50 ms, TTFT p99 ms */
    private static double[] streamingRound(HttpClient http, ExecutorService pool, String base, int clients,
                                           int promptTokens, int maxTokens, int vocab) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        long[] t0 = new long[1];
        List<CompletableFuture<long[]>> fs = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            ObjectNode body = JSON.createObjectNode();
            body.put("model", "bench").put("max_tokens", maxTokens).put("temperature", 0).put("ignore_eos", true)
                    .put("stream", true);
            body.putObject("stream_options").put("include_usage", true);
            body.set("prompt", JSON.valueToTree(Stats.prompt(c, promptTokens, vocab)));
            HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/completions")).timeout(Duration.ofMinutes(10))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build();
            fs.add(CompletableFuture.supplyAsync(() -> {
                try {
                    go.await();
                    long first = 0;
                    long tokens = 0;
                    HttpResponse<Stream<String>> resp = http.send(req, HttpResponse.BodyHandlers.ofLines());
                    if (resp.statusCode() != 200) {
                        throw new IllegalStateException("HTTP " + resp.statusCode());
                    }
                    try (Stream<String> lines = resp.body()) {
                        for (String l : (Iterable<String>) lines::iterator) {
                            if (!l.startsWith("data: ") || l.equals("data: [DONE]")) {
                                continue;
                            }
                            JsonNode n = JSON.readTree(l.substring(6));
                            if (first == 0 && !n.path("choices").path(0).path("text").asText("").isEmpty()) {
                                first = System.nanoTime();
                            }
                            if (n.path("usage").isObject()) {
                                tokens = n.path("usage").path("completion_tokens").asLong();
                            }
                        }
                    }
                    return new long[]{first, tokens, System.nanoTime()};
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, pool));
        }
        t0[0] = System.nanoTime();
        go.countDown();
        long tokens = 0;
        long end = 0;
        List<Double> ttft = new ArrayList<>();
        for (CompletableFuture<long[]> f : fs) {
            long[] r = f.get(10, TimeUnit.MINUTES);
            ttft.add((r[0] - t0[0]) / 1e6);
            tokens += r[1];
            end = Math.max(end, r[2]);
        }
        return new double[]{tokens, (end - t0[0]) / 1e9, Stats.percentile(ttft, 50), Stats.percentile(ttft, 99)};
    }

    // ------------------------------------------------------------------------------------------ client

    /** @param serverUrl an external server's base URL (answering after {@code delayMs}), or null for one here */
    private static void clientRun(int inFlight, int delayMs, int rounds, int warmup, String serverUrl)
            throws Exception {
        DelayedChatServer server = serverUrl == null ? new DelayedChatServer(inFlight, delayMs) : null;
        String base = server == null ? serverUrl : server.baseUrl();
        try (OpenAiClient client = OpenAiClient.create(OpenAiClientConfig.builder(base)
                .maxConcurrentRequests(inFlight).maxRetries(0).build())) {
            send(client, inFlight * warmup); // warm-up: connections, JIT
            int rows = inFlight * rounds;
            com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                    ManagementFactory.getOperatingSystemMXBean();
            long cpu0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            long ok = send(client, rows);
            double wall = (System.nanoTime() - t0) / 1e9;
            double cpuMsPerRow = (os.getProcessCpuTime() - cpu0) / 1e6 / rows;
            double ideal = inFlight * 1000.0 / delayMs;
            ObjectNode o = JSON.createObjectNode();
            o.put("bench", "client").put("in_flight", inFlight).put("delay_ms", delayMs).put("rows", rows)
                    .put("ok", ok).put("wall_s", wall).put("rows_per_s", rows / wall).put("ideal_rows_per_s", ideal)
                    .put("efficiency", rows / wall / ideal)
                    // CPU of this JVM (client and the loopback server) per row: what the client costs whatever the
                    // machine's load
                    .put("cpu_ms_per_row", cpuMsPerRow);
            System.out.println(JSON.writeValueAsString(o));
            System.out.flush();
        } finally {
            if (server != null) {
                server.close();
            }
        }
    }

    /**
     * llmMap's HTTP backend against the delayed server: {@code inFlight × rounds} rows in 2 partitions on
     * {@code local[2]}, {@code max_concurrent_requests = inFlight} (the executor's one shared client),
     * {@code max_in_flight_per_task = inFlight}, no retries; rows/s of the whole Spark job against N / delay.
     */
    private static void llmMapRun(int inFlight, int delayMs, int rounds, int warmup) throws Exception {
        try (DelayedChatServer server = new DelayedChatServer(inFlight, delayMs)) {
            SparkSession spark = SparkSession.builder().master("local[2]").appName("bench-llmmap-http")
                    .config("spark.ui.enabled", "false")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.plugins", StokerSparkPlugin.class.getName())
                    .getOrCreate();
            try {
                Llm llm = Llm.openai(server.baseUrl(), "m").maxTokens(1)
                        .option("max_concurrent_requests", inFlight).option("max_in_flight_per_task", inFlight)
                        .option("max_retries", 0);
                llmMapRows(spark, llm, inFlight * warmup); // warm-up: the executor's client, connections, JIT
                int rows = inFlight * rounds;
                long t0 = System.nanoTime();
                long ok = llmMapRows(spark, llm, rows);
                double wall = (System.nanoTime() - t0) / 1e9;
                double ideal = inFlight * 1000.0 / delayMs;
                ObjectNode o = JSON.createObjectNode();
                o.put("bench", "llmmap_http").put("in_flight", inFlight).put("delay_ms", delayMs).put("rows", rows)
                        .put("ok", ok).put("wall_s", wall).put("rows_per_s", rows / wall)
                        .put("ideal_rows_per_s", ideal).put("efficiency", rows / wall / ideal);
                System.out.println(JSON.writeValueAsString(o));
                System.out.flush();
            } finally {
                spark.stop();
            }
        }
    }

    /** Runs {@code rows} prompts through llmMap and returns how many came back without an error. */
    private static long llmMapRows(SparkSession spark, Llm llm, int rows) {
        Dataset<Row> out = spark.range(0, rows, 1, 2).selectExpr("concat('row ', id) AS q")
                .transform(Stoker.llm(llm).prompt(col("q")));
        Row r = out.agg(sum(when(col("error").isNull(), 1).otherwise(0))).first();
        return r.isNullAt(0) ? 0 : r.getLong(0);
    }

    private static long send(OpenAiClient client, int rows) throws Exception {
        List<CompletableFuture<OpenAiResult>> fs = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            fs.add(client.send(OpenAiRequest.chat("m", List.of(ChatMessage.user("row " + i))).maxTokens(1).build()));
        }
        long ok = 0;
        for (CompletableFuture<OpenAiResult> f : fs) {
            if (f.get(10, TimeUnit.MINUTES).ok()) {
                ok++;
            }
        }
        return ok;
    }

    // ------------------------------------------------------------------------------------------ processes

    private static Path modelFor(String model, String dtype) throws IOException {
        return BenchModels.resolve(model, dtype);
    }

    /** {@code serve/target/classes} and its dependency classpath, as {@code bin/stoker} builds them. */
    private static String serveClasspath() throws IOException {
        Path root = System.getProperty("stoker.root") != null ? Paths.get(System.getProperty("stoker.root"))
                : Paths.get(System.getProperty("user.dir"));
        Path cp = root.resolve("serve/target/stoker-classpath.txt");
        if (!Files.exists(cp)) {
            throw new IllegalStateException(cp + " is missing; run bin/stoker build (or run from the project root)");
        }
        return root.resolve("serve/target/classes") + ":" + Files.readString(cp).trim();
    }

    /** This JVM's flags (no heap limit, agents) and the given classpath. */
    private static List<String> jvm(String classpath) {
        List<String> cmd = new ArrayList<>();
        cmd.add(LocalSparkHome.javaExecutable());
        for (String a : LocalSparkHome.jvmOptions()) {
            if (!a.startsWith("-Xmx") && !a.startsWith("-agentlib") && !a.startsWith("-Dstoker.root")) {
                cmd.add(a);
            }
        }
        cmd.add("-cp");
        cmd.add(classpath);
        return cmd;
    }

    private static void runWorker(List<String> cmd) throws IOException, InterruptedException {
        Path log = Files.createTempFile("stoker-bench-worker", ".log");
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("{")) {
                    System.out.println(line);
                    System.out.flush();
                }
            }
        }
        if (p.waitFor() != 0) {
            System.err.println("stoker bench serve: engine worker failed; its log:\n" + Files.readString(log));
        }
        Files.deleteIfExists(log);
    }
}
