package io.stoker.benchmarks.engine;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.benchmarks.BenchModels;
import io.stoker.spark.cli.LocalSparkHome;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code bin/stoker bench engine}: tokens/s of Stoker's engine and of llama.cpp (de.kherud:llama) on the same GGUF
 * weights, each engine in its own JVM, one after the other (with {@code --repeat}, interleaved pairs).
 *
 * <pre>
 * bin/stoker bench engine --model PATH [--dtype f32,q8_0] [--engines stoker,llama.cpp] [--batch 1,32]
 *     [--prompt-tokens 128] [--decode-tokens 64] [--threads N] [--kv-cache-mb 256] [--repeat 1] [--trials 3]
 *     [--json]
 * bin/stoker bench engine --model PATH --shared-prefix 300 [--requests 256] [--decode-tokens 16] [--json]
 * bin/stoker bench engine --kernels [--dtype f32,q8_0] [--json]
 * </pre>
 *
 * {@code --model random:smollm-135m} writes a random-weight SmolLM-135M-shaped GGUF per dtype (cached under
 * {@code target/bench-models}); a {@code .gguf} path is used as is for both engines (its dtype is what it holds).
 * Batch N > 1 is Stoker's continuous batching against llama.cpp's own ({@code N} parallel slots, N concurrent
 * streams). Output: JSON lines with {@code engine}, {@code dtype}, {@code batch}, {@code phase} ({@code prefill},
 * {@code decode}, {@code shared_prefix}), {@code tokens_per_s}, {@code gflops} (matrix FLOPs per second) and
 * {@code gflops_per_cpu_s} (the same over the CPU time used: steadier on a shared machine), and context fields.
 *
 * <p>{@code --shared-prefix N}: Stoker only; {@code --requests} prompts made of one shared N-token prefix and 16 tokens
 * each of their own, run once without and once with prefix caching (per {@code --repeat}): one line per run with
 * {@code prefix_cache}, {@code prefill_tokens_computed} and {@code tokens_per_s} (generated tokens per second, end to
 * end).
 *
 * <p>{@code --kernels}: {@link KernelBench}, the matrix-product kernels alone.
 */
public final class EngineBenchCommand {
    private static final String USAGE = "usage: bin/stoker bench engine --model PATH|random:smollm-135m"
            + " [--dtype f32,q8_0] [--engines stoker,llama.cpp]\n"
            + "    [--batch 1,32] [--prompt-tokens 128] [--decode-tokens 64] [--threads N] [--kv-cache-mb 256]"
            + " [--repeat 1] [--trials 3] [--json]\n"
            + "       bin/stoker bench engine --model PATH --shared-prefix 300 [--requests 256] [--decode-tokens 16]"
            + " [--json]\n"
            + "       bin/stoker bench engine --kernels [--dtype f32,q8_0] [--json]   (CPU matmul alone, one thread)\n"
            + "  --repeat runs each engine's worker JVM that many times (alternating engines); --trials is the number\n"
            + "  of timed runs inside one worker, of which the best is reported\n";

    private EngineBenchCommand() {
    }

    public static void main(String[] args) throws Exception {
        String model = null;
        List<String> dtypes = List.of("f32", "q8_0");
        List<String> engines = List.of("stoker", "llama.cpp");
        String batches = "1,32";
        int prompt = 128;
        int decode = 64;
        int threads = Runtime.getRuntime().availableProcessors();
        int kvMb = 256;
        int repeat = 1;
        int trials = 3;
        int sharedPrefix = 0;
        int requests = 256;
        boolean decodeSet = false;
        boolean kernels = false;
        boolean json = false;
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--model":
                        model = args[++i];
                        break;
                    case "--dtype":
                        dtypes = List.of(args[++i].toLowerCase(Locale.ROOT).split(","));
                        break;
                    case "--engines":
                        engines = List.of(args[++i].split(","));
                        break;
                    case "--batch":
                        batches = args[++i];
                        break;
                    case "--prompt-tokens":
                        prompt = Integer.parseInt(args[++i]);
                        break;
                    case "--decode-tokens":
                        decode = Integer.parseInt(args[++i]);
                        decodeSet = true;
                        break;
                    case "--shared-prefix":
                        sharedPrefix = Integer.parseInt(args[++i]);
                        break;
                    case "--requests":
                        requests = Integer.parseInt(args[++i]);
                        break;
                    case "--kernels":
                        kernels = true;
                        break;
                    case "--threads":
                        threads = Integer.parseInt(args[++i]);
                        break;
                    case "--kv-cache-mb":
                        kvMb = Integer.parseInt(args[++i]);
                        break;
                    case "--repeat":
                        repeat = Integer.parseInt(args[++i]);
                        break;
                    case "--trials":
                        trials = Integer.parseInt(args[++i]);
                        break;
                    case "--json":
                        json = true;
                        break;
                    case "--help":
                    case "-h":
                        System.out.print(USAGE);
                        return;
                    default:
                        throw new IllegalArgumentException("unknown option '" + args[i] + "'");
                }
            }
            if (model == null && !kernels) {
                throw new IllegalArgumentException("--model is required");
            }
            if (sharedPrefix < 0 || requests < 1) {
                throw new IllegalArgumentException("--shared-prefix must be >= 1 and --requests >= 1");
            }
        } catch (RuntimeException e) {
            System.err.println("stoker bench engine: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
        }
        if (kernels) {
            KernelBench.run(dtypes, json);
            return;
        }
        if (!json) {
            System.out.printf("%-10s %-6s %5s %-13s %12s %8s %10s %9s%n", "engine", "dtype", "batch", "phase", "tokens/s",
                    "GFLOP/s", "GFLOP/cpu-s", "rss MB");
        }
        if (sharedPrefix > 0) {
            int dec = decodeSet ? decode : 16;
            for (String dt : dtypes) {
                Path gguf = modelFor(model, dt);
                double flops = BenchResult.flopsPerToken(gguf);
                for (int r = 0; r < repeat; r++) {
                    for (boolean caching : new boolean[]{false, true}) {
                        List<String> cmd = new ArrayList<>(jvm("stoker", kvMb));
                        cmd.add(StokerBenchWorker.class.getName());
                        cmd.addAll(List.of("model=" + gguf, "dtype=" + dt, "threads=" + threads, "kvMb=" + kvMb,
                                "prompt=" + prompt, "decode=" + dec, "flops=" + flops, "mode=shared-prefix",
                                "shared=" + sharedPrefix, "requests=" + requests, "prefixCache=" + caching));
                        runWorker(cmd, json);
                    }
                }
            }
            return;
        }
        for (String dt : dtypes) {
            Path gguf = modelFor(model, dt);
            double flops = BenchResult.flopsPerToken(gguf);
            for (int r = 0; r < repeat; r++) {
                for (String engine : engines) {
                    List<String> cmd = new ArrayList<>(jvm(engine, kvMb));
                    if (engine.equals("stoker")) {
                        cmd.add(StokerBenchWorker.class.getName());
                        cmd.addAll(List.of("model=" + gguf, "dtype=" + dt, "threads=" + threads, "kvMb=" + kvMb,
                                "prompt=" + prompt, "decode=" + decode, "batches=" + batches, "trials=" + trials,
                                "flops=" + flops));
                    } else if (engine.equals("llama.cpp")) {
                        cmd.add(LlamaCppBenchWorker.class.getName());
                        cmd.addAll(List.of("model=" + gguf, "dtype=" + dt, "threads=" + threads,
                                "prompt=" + prompt, "decode=" + decode, "batches=" + batches, "trials=" + trials,
                                "flops=" + flops));
                    } else {
                        throw new IllegalArgumentException("unknown engine '" + engine + "' (stoker, llama.cpp)");
                    }
                    runWorker(cmd, json);
                }
            }
        }
    }

    private static Path modelFor(String model, String dtype) throws IOException {
        return BenchModels.resolve(model, dtype);
    }

    /** The java command for a worker: this JVM's flags and classpath, a bounded heap for Stoker. */
    private static List<String> jvm(String engine, int kvMb) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(LocalSparkHome.javaExecutable());
        for (String a : LocalSparkHome.jvmOptions()) {
            if (!a.startsWith("-Xmx") && !a.startsWith("-agentlib")) {
                cmd.add(a);
            }
        }
        if (engine.equals("stoker")) {
            cmd.add("-Xmx" + (kvMb + 128) + "m"); // KV arrays + activations + garbage; RSS = weights + heap + JVM
        } else {
            Path tmp = Paths.get(System.getProperty("java.io.tmpdir"), "stoker-llama-jni");
            Files.createDirectories(tmp); // a missing tmpdir gives UnsatisfiedLinkError
            cmd.add("-Dde.kherud.llama.tmpdir=" + tmp);
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        return cmd;
    }

    private static void runWorker(List<String> cmd, boolean json) throws IOException, InterruptedException {
        Path log = Files.createTempFile("stoker-bench-worker", ".log");
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.startsWith("{")) {
                    continue;
                }
                if (json) {
                    System.out.println(line);
                } else {
                    ObjectNode o = BenchResult.parse(line);
                    String phase = o.get("phase").asText();
                    if (o.has("prefix_cache")) {
                        phase = "prefix-" + (o.get("prefix_cache").asBoolean() ? "on" : "off");
                    }
                    System.out.printf("%-10s %-6s %5d %-13s %12.1f %8.1f %10.1f %9d%s%n", o.get("engine").asText(),
                            o.get("dtype").asText(), o.get("batch").asInt(), phase,
                            o.get("tokens_per_s").asDouble(), o.path("gflops").asDouble(Double.NaN),
                            o.path("gflops_per_cpu_s").asDouble(Double.NaN), o.path("peak_rss_mb").asLong(-1),
                            o.has("prefill_tokens_computed") ? "   prefill tokens computed "
                                    + o.get("prefill_tokens_computed").asLong() + " of "
                                    + o.get("prompt_tokens").asLong() : "");
                }
                System.out.flush();
            }
        }
        int rc = p.waitFor();
        if (rc != 0) {
            System.err.println("stoker bench engine: worker exited with " + rc + "; its log:");
            System.err.println(Files.readString(log));
        }
        Files.deleteIfExists(log);
    }
}
