package io.stoker.llm.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.LoadedModel;
import io.stoker.llm.ModelLoader;
import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.model.llama.LlamaConfig;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.tensor.DType;
import io.stoker.runtime.cuda.Cuda;
import io.stoker.runtime.cuda.DeviceProperties;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Decode speed of the engine on its CUDA backend (issue 12's check on a lent GPU): loads a {@code random:} model
 * (weights filled on the device, never a file), runs greedy decode at each batch size (a prompt, warm-up steps, then
 * timed steps in which every sequence gets one token), and reports tokens/s, per-token latency, the bytes a step
 * reads (weights and KV) and the share of the HBM roofline they imply; then greedy-token parity against the CPU
 * backend on a small random model. The CUDA in use is whatever {@link Cuda} is configured with: a GPU
 * ({@code stoker.cuda=real}) or the simulator ({@code stoker.cuda=sim}, tiny shapes: {@code --small}).
 *
 * <p>Everything runs on the calling thread, which holds the device. Use {@link #main} from {@code bin/stoker
 * gpu-check}; {@link #run(Options)} returns the JSON for tests.
 */
public final class DecodeBenchmark {
    /** Issue 12's targets. */
    public static final double BATCH1_ROOFLINE_TARGET = 0.70;
    public static final double BATCH64_VS_HF_TARGET = 2.0;
    public static final int PARITY_STEPS_TARGET = 32;

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * What to run.
     *
     * @param model            the model measured (a {@code random:} source)
     * @param batches          batch sizes, one timed run each
     * @param promptTokens     prompt length of every sequence
     * @param warmupSteps      decode steps before timing
     * @param decodeSteps      timed decode steps
     * @param kvDtype          KV cache type (F16 or F32)
     * @param parityModel      the small model of the CPU parity check, or null to skip it
     * @param paritySteps      greedy tokens compared per sequence
     * @param paritySequences  sequences of the parity check (decoded together)
     * @param hfJson           the HF transformers side's JSON (its {@code runs}), or null
     * @param timeLimitSeconds after this long (0: no limit) a timed loop stops early (after one step at least) and
     *                         later batches are skipped, so a run under an outer time limit still reports what it
     *                         measured
     */
    public record Options(String model, int[] batches, int promptTokens, int warmupSteps, int decodeSteps,
                          DType kvDtype, String parityModel, int paritySteps, int paritySequences, JsonNode hfJson,
                          double timeLimitSeconds) {
        public Options {
            if (batches.length == 0 || Arrays.stream(batches).anyMatch(b -> b < 1)) {
                throw new IllegalArgumentException("--batches " + Arrays.toString(batches) + ": give sizes >= 1");
            }
            positive("--prompt-tokens", promptTokens);
            positive("--steps", decodeSteps);
            positive("--parity-steps", paritySteps);
            positive("--parity-sequences", paritySequences);
            if (warmupSteps < 0) {
                throw new IllegalArgumentException("--warmup " + warmupSteps + " must be >= 0");
            }
            if (timeLimitSeconds < 0) {
                throw new IllegalArgumentException("--time-limit " + timeLimitSeconds + " must be >= 0");
            }
            if (kvDtype != DType.F16 && kvDtype != DType.F32) {
                throw new IllegalArgumentException("--kv-dtype " + kvDtype + ": use f16 or f32");
            }
            batches = batches.clone();
        }

        /** The real-GPU run: Llama-3.1-8B shape in bf16, batch 1 and 64, 128-token prompts, 8 + 128 decode steps. */
        public static Options gpu() {
            return new Options("random:llama-3.1-8b", new int[] {1, 64}, 128, 8, 128, DType.F16, PARITY_MODEL,
                    PARITY_STEPS_TARGET, 4, null, 0);
        }

        /** Tiny shapes for the simulator (seconds on a CPU); the parity check keeps its 32 steps. */
        public static Options small() {
            return new Options("random:hidden=64,intermediate=128,layers=2,heads=4,kv_heads=2,vocab=256,"
                    + "max_positions=256,dtype=bf16,seed=1", new int[] {1, 4}, 8, 1, 4, DType.F16,
                    "random:tiny,seed=3", PARITY_STEPS_TARGET, 2, null, 0);
        }

        private static void positive(String option, int v) {
            if (v < 1) {
                throw new IllegalArgumentException(option + " " + v + " must be >= 1");
            }
        }

        Options withHf(JsonNode hf) {
            return new Options(model, batches, promptTokens, warmupSteps, decodeSteps, kvDtype, parityModel,
                    paritySteps, paritySequences, hf, timeLimitSeconds);
        }
    }

    /** A small f32 model for the parity check: big enough for real GEMM tilings, small enough for the CPU. */
    static final String PARITY_MODEL = "random:hidden=512,intermediate=1408,layers=4,heads=8,kv_heads=2,vocab=4096,"
            + "max_positions=1024,dtype=f32,seed=7";

    private DecodeBenchmark() {
    }

    /**
     * Prints one JSON object. Exit code 0 when every run finished and the parity check passed (speed targets are
     * reported, not enforced), 1 when a run failed or the tokens differ, 2 for a bad option, 3 when no CUDA device is
     * usable.
     */
    public static void main(String[] args) {
        Options o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("decode-benchmark: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (!Cuda.isAvailable()) {
            System.out.println("{\"status\":\"no_gpu\",\"reason\":\"no CUDA driver or device on this machine"
                    + " (stoker.cuda=" + Cuda.config().mode().name().toLowerCase(java.util.Locale.ROOT) + ")\"}");
            System.exit(3);
            return;
        }
        ObjectNode out = JSON.createObjectNode();
        int code;
        try {
            measure(o, out);
            code = out.path("parity").path("equal").asBoolean(o.parityModel() == null) ? 0 : 1;
        } catch (RuntimeException | Error e) { // what was measured before the failure stays in the JSON
            out.put("status", "error");
            out.put("error", e.getClass().getName() + ": " + e.getMessage());
            code = 1;
        }
        System.out.println(out);
        System.out.flush();
        System.exit(code);
    }

    /** Runs the benchmark on the configured CUDA (device 0) and returns its JSON. */
    public static ObjectNode run(Options o) {
        ObjectNode out = JSON.createObjectNode();
        measure(o, out);
        return out;
    }

    /** Runs the benchmark, filling {@code out} as it goes. */
    static void measure(Options o, ObjectNode out) {
        out.put("status", "ok");
        out.put("simulated", Cuda.isSimulated());
        DeviceProperties p = Cuda.properties(0);
        ObjectNode dev = out.putObject("device");
        dev.put("name", p.name());
        dev.put("sm", p.arch());
        dev.put("memory_bytes", p.totalMemory());
        dev.put("memory_clock_khz", p.memoryClockKhz());
        dev.put("memory_bus_width_bits", p.memoryBusWidthBits());
        MemoryBandwidth bw = MemoryBandwidth.of(p);
        ObjectNode peak = out.putObject("peak_bandwidth");
        peak.put("gb_per_s", bw.bytesPerSecond() / 1e9);
        peak.put("source", bw.source());
        peak.put("spec_gb_per_s", bw.specBytesPerSecond() / 1e9);
        peak.put("spec_source", bw.specSource());

        if (o.hfJson() != null) {
            out.set("hf_transformers", o.hfJson());
        }
        long deadline = o.timeLimitSeconds() > 0 ? System.nanoTime() + (long) (o.timeLimitSeconds() * 1e9)
                : Long.MAX_VALUE;
        if (o.parityModel() != null) { // first: quick, and a target of its own
            out.set("parity", parity(o.parityModel(), o.paritySteps(), o.paritySequences()));
        }
        int maxBatch = Arrays.stream(o.batches()).max().orElseThrow();
        int stepsPerSeq = o.warmupSteps() + o.decodeSteps() + 2; // the prefill's token, warm-up, timed, one spare
        int context = o.promptTokens() + stepsPerSeq;
        long t0 = System.nanoTime();
        LoadedModel model = ModelLoader.load(o.model());
        DecodeTraffic traffic = DecodeTraffic.of(model, o.kvDtype());
        LlamaConfig c = model.config();
        int blockSize = 16;
        long kvBytes = (long) maxBatch * ((context + blockSize - 1) / blockSize + 1) * blockSize
                * traffic.kvBytesPerToken();
        EngineConfig cfg = EngineConfig.defaults().withBackend("cuda").withKvCacheDtype(o.kvDtype())
                .withKvCacheBytes(kvBytes).withBlockSize(blockSize).withMaxNumSeqs(maxBatch)
                .withMaxBatchTokens(Math.max(maxBatch, Math.min(8192, maxBatch * o.promptTokens())))
                .withMaxModelLen(Math.min(c.maxPositionEmbeddings(), context + blockSize)).withPrefixCaching(false);
        ObjectNode m = out.putObject("model");
        m.put("source", o.model());
        m.put("weights_dtype", model.tensors().get("model.layers.0.mlp.up_proj.weight").dtype().name());
        m.put("kv_dtype", o.kvDtype().name());
        m.put("parameters", traffic.parameters());
        m.put("weight_bytes_per_step", traffic.weightBytes());
        m.put("kv_bytes_per_token", traffic.kvBytesPerToken());
        out.put("prompt_tokens", o.promptTokens());
        out.put("warmup_steps", o.warmupSteps());
        out.put("decode_steps", o.decodeSteps());
        ArrayNode runs = out.putArray("runs");
        try (LlmEngine engine = LlmEngine.local(model, cfg)) {
            m.put("load_seconds", (System.nanoTime() - t0) / 1e9);
            for (int batch : o.batches()) {
                if (!runs.isEmpty() && System.nanoTime() > deadline) { // the first batch always gets one step
                    ObjectNode skipped = runs.addObject();
                    skipped.put("batch", batch);
                    skipped.put("status", "skipped");
                    skipped.put("reason", "the time limit of " + o.timeLimitSeconds() + " s was reached");
                    continue;
                }
                runs.add(timeBatch(engine, c, traffic, bw, batch, o, stepsPerSeq, deadline));
            }
        } finally {
            model.close();
        }
        if (o.hfJson() != null) {
            out.set("vs_hf", compareWithHf(runs, o.hfJson()));
        }
        out.set("targets", targets(runs, out));
    }

    private static ObjectNode timeBatch(LlmEngine engine, LlamaConfig c, DecodeTraffic traffic, MemoryBandwidth bw,
                                        int batch, Options o, int stepsPerSeq, long deadline) {
        AtomicIntegerArray generated = new AtomicIntegerArray(batch);
        List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
        SamplingParams greedy = SamplingParams.builder().maxTokens(stepsPerSeq).ignoreEos(true).build();
        for (int s = 0; s < batch; s++) {
            int seq = s;
            fs.add(engine.submit(GenerationRequest.ofIds(prompt(o.promptTokens(), c.vocabSize(), s), greedy),
                    id -> generated.incrementAndGet(seq)));
        }
        long t0 = System.nanoTime();
        while (!allStarted(generated)) { // prefill (chunked when the prompts exceed a step's token budget)
            engine.step();
        }
        double prefill = (System.nanoTime() - t0) / 1e9;
        for (int i = 0; i < o.warmupSteps(); i++) {
            decodeStep(engine, batch);
        }
        long[] ns = new long[o.decodeSteps()];
        int timed = 0;
        long start = System.nanoTime();
        while (timed < ns.length && (timed == 0 || System.nanoTime() < deadline)) {
            long a = System.nanoTime();
            decodeStep(engine, batch);
            ns[timed++] = System.nanoTime() - a;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        boolean cutShort = timed < ns.length;
        if (cutShort) { // past the time limit: drop the rest of the batch (the engine removes cancelled requests)
            fs.forEach(f -> f.cancel(false));
        }
        engine.runUntilIdle();
        for (CompletableFuture<GenerationResult> f : fs) {
            if (!cutShort && f.join().tokenIds().length != stepsPerSeq) {
                throw new IllegalStateException("batch " + batch + ": a sequence ended after "
                        + f.join().tokenIds().length + " tokens instead of " + stepsPerSeq);
            }
        }
        // the j-th decode step (0 = first) of a sequence attends to prompt + 1 + j tokens
        double meanContext = o.promptTokens() + 1 + o.warmupSteps() + (timed - 1) / 2.0;
        long contextSum = Math.round(batch * meanContext);
        long bytes = traffic.bytesPerStep(batch, contextSum);
        double stepSeconds = seconds / timed;
        long[] sorted = Arrays.copyOf(ns, timed);
        Arrays.sort(sorted);
        ObjectNode r = JSON.createObjectNode();
        r.put("batch", batch);
        r.put("timed_steps", timed);
        if (cutShort) {
            r.put("cut_short", "the time limit of " + o.timeLimitSeconds() + " s was reached after " + timed
                    + " of " + ns.length + " timed steps");
        }
        r.put("prefill_seconds", prefill);
        r.put("tokens_per_s", batch / stepSeconds);
        r.put("per_token_latency_ms", stepSeconds * 1e3);
        r.put("step_ms_p50", sorted[sorted.length / 2] / 1e6);
        r.put("step_ms_max", sorted[sorted.length - 1] / 1e6);
        r.put("bytes_per_step", bytes);
        r.put("weight_bytes_per_step", traffic.weightBytes());
        r.put("kv_bytes_per_step", traffic.kvReadBytes(contextSum) + batch * traffic.kvBytesPerToken());
        double achieved = bytes / stepSeconds;
        r.put("achieved_gb_per_s", achieved / 1e9);
        r.put("roofline_share", bw.bytesPerSecond() > 0 ? achieved / bw.bytesPerSecond() : 0);
        r.put("roofline_share_spec", bw.specBytesPerSecond() > 0 ? achieved / bw.specBytesPerSecond() : 0);
        return r;
    }

    private static boolean allStarted(AtomicIntegerArray generated) {
        for (int i = 0; i < generated.length(); i++) {
            if (generated.get(i) == 0) {
                return false;
            }
        }
        return true;
    }

    private static void decodeStep(LlmEngine engine, int batch) {
        int tokens = engine.step();
        if (tokens != batch) {
            throw new IllegalStateException("a decode step computed " + tokens + " tokens instead of the batch of "
                    + batch + "; the batch did not stay whole (KV budget or maxNumSeqs too small?)");
        }
    }

    /** A deterministic prompt for sequence {@code s}: ids in [1, vocab). */
    static int[] prompt(int length, int vocab, int s) {
        SplittableRandom r = new SplittableRandom(1000 + s);
        int[] ids = new int[length];
        for (int i = 0; i < length; i++) {
            ids[i] = 1 + r.nextInt(vocab - 1);
        }
        return ids;
    }

    /** Greedy tokens of the CPU and the CUDA backend for the same prompts, decoded together. */
    static ObjectNode parity(String source, int steps, int sequences) {
        ObjectNode r = JSON.createObjectNode();
        r.put("model", source);
        r.put("steps", steps);
        r.put("sequences", sequences);
        long t0 = System.nanoTime();
        try (LoadedModel model = ModelLoader.load(source)) {
            EngineConfig base = EngineConfig.defaults().withMaxNumSeqs(sequences).withPrefixCaching(false)
                    .withKvCacheBytes(64L << 20);
            List<int[]> cpu = greedyTokens(model, base, steps, sequences);
            List<int[]> gpu = greedyTokens(model, base.withBackend("cuda"), steps, sequences);
            boolean equal = true;
            for (int s = 0; s < sequences && equal; s++) {
                int[] a = cpu.get(s);
                int[] b = gpu.get(s);
                int n = Math.min(a.length, b.length);
                for (int i = 0; i < n && equal; i++) {
                    if (a[i] != b[i]) {
                        equal = false;
                        r.put("first_mismatch", "sequence " + s + " step " + i + ": cpu " + a[i] + ", cuda " + b[i]);
                    }
                }
                if (equal && (a.length != steps || b.length != steps)) {
                    equal = false;
                    r.put("first_mismatch", "sequence " + s + ": cpu gave " + a.length + " tokens, cuda "
                            + b.length + ", expected " + steps);
                }
            }
            r.put("equal", equal);
        }
        r.put("seconds", (System.nanoTime() - t0) / 1e9);
        return r;
    }

    private static List<int[]> greedyTokens(LoadedModel model, EngineConfig cfg, int steps, int sequences) {
        try (LlmEngine e = LlmEngine.local(model, cfg)) {
            List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
            for (int s = 0; s < sequences; s++) {
                fs.add(e.submit(GenerationRequest.ofIds(prompt(12 + 5 * s, model.config().vocabSize(), s),
                        SamplingParams.builder().maxTokens(steps).ignoreEos(true).build())));
            }
            e.runUntilIdle();
            List<int[]> out = new ArrayList<>();
            for (CompletableFuture<GenerationResult> f : fs) {
                out.add(f.join().tokenIds());
            }
            return out;
        }
    }

    /** Stoker's decode tokens/s over HF transformers' decode-only tokens/s, batch by batch. */
    static ObjectNode compareWithHf(ArrayNode runs, JsonNode hf) {
        ObjectNode r = JSON.createObjectNode();
        if (!"ok".equals(hf.path("status").asText())) {
            r.put("status", "not_compared");
            r.put("reason", "the HF transformers side did not run: " + hf.path("error").asText(hf.toString()));
            return r;
        }
        r.put("status", "ok");
        r.put("compares", "Stoker decode tokens/s (timed steps after warm-up) / HF decode_tokens_per_s (generate of"
                + " N tokens minus generate of 1, same prompt length)");
        ObjectNode ratio = r.putObject("speedup");
        for (JsonNode s : runs) {
            int batch = s.path("batch").asInt();
            for (JsonNode h : hf.path("runs")) {
                double theirs = h.path("decode_tokens_per_s").asDouble();
                if (h.path("batch").asInt() == batch && theirs > 0) {
                    ratio.put("batch_" + batch, s.path("tokens_per_s").asDouble() / theirs);
                }
            }
        }
        return r;
    }

    private static ObjectNode targets(ArrayNode runs, ObjectNode out) {
        ObjectNode t = JSON.createObjectNode();
        for (JsonNode r : runs) {
            if (r.path("batch").asInt() == 1) {
                t.put("batch1_roofline_share", r.path("roofline_share").asDouble());
                t.put("batch1_roofline_target", BATCH1_ROOFLINE_TARGET);
                t.put("batch1_met", r.path("roofline_share").asDouble() >= BATCH1_ROOFLINE_TARGET);
            }
        }
        JsonNode speedup = out.path("vs_hf").path("speedup").path("batch_64");
        if (speedup.isNumber()) {
            t.put("batch64_vs_hf", speedup.asDouble());
            t.put("batch64_vs_hf_target", BATCH64_VS_HF_TARGET);
            t.put("batch64_met", speedup.asDouble() >= BATCH64_VS_HF_TARGET);
        }
        JsonNode parity = out.path("parity");
        if (!parity.isMissingNode()) {
            t.put("parity_met", parity.path("equal").asBoolean() && parity.path("steps").asInt() >= PARITY_STEPS_TARGET);
        }
        return t;
    }

    // ------------------------------------------------------------------------------------------ command line

    static Options parse(String[] args) {
        Options o = Options.gpu();
        for (String a : args) {
            if (a.equals("--small")) {
                o = Options.small();
            }
        }
        String model = o.model();
        int[] batches = o.batches();
        int prompt = o.promptTokens();
        int warmup = o.warmupSteps();
        int steps = o.decodeSteps();
        DType kv = o.kvDtype();
        String parityModel = o.parityModel();
        int paritySteps = o.paritySteps();
        int paritySeqs = o.paritySequences();
        JsonNode hf = null;
        double limit = 0;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--small")) {
                continue;
            }
            if (a.equals("--no-parity")) {
                parityModel = null;
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("option " + a + " needs a value (or is unknown); see the Javadoc"
                        + " of DecodeBenchmark or docs/cuda.md");
            }
            String v = args[++i];
            switch (a) {
                case "--model" -> model = v;
                case "--batches" -> batches = ints(a, v);
                case "--prompt-tokens" -> prompt = integer(a, v);
                case "--warmup" -> warmup = integer(a, v);
                case "--steps" -> steps = integer(a, v);
                case "--kv-dtype" -> kv = switch (v.toLowerCase(java.util.Locale.ROOT)) {
                    case "f16" -> DType.F16;
                    case "f32" -> DType.F32;
                    default -> throw new IllegalArgumentException("--kv-dtype '" + v + "': use f16 or f32");
                };
                case "--parity-model" -> parityModel = v;
                case "--parity-steps" -> paritySteps = integer(a, v);
                case "--parity-sequences" -> paritySeqs = integer(a, v);
                case "--hf-json" -> hf = readHf(v);
                case "--time-limit" -> limit = seconds(a, v);
                default -> throw new IllegalArgumentException("unknown option '" + a + "'; known: --small, --model,"
                        + " --batches, --prompt-tokens, --warmup, --steps, --kv-dtype, --parity-model, --parity-steps,"
                        + " --parity-sequences, --no-parity, --hf-json, --time-limit");
            }
        }
        return new Options(model, batches, prompt, warmup, steps, kv, parityModel, paritySteps, paritySeqs, hf, limit);
    }

    private static JsonNode readHf(String file) {
        try {
            return JSON.readTree(java.nio.file.Files.readString(java.nio.file.Path.of(file)));
        } catch (java.io.IOException | RuntimeException e) {
            ObjectNode n = JSON.createObjectNode();
            n.put("status", "error");
            n.put("error", "--hf-json " + file + " is not readable JSON: " + e.getMessage());
            return n;
        }
    }

    private static double seconds(String option, String v) {
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " '" + v + "' is not a number of seconds");
        }
    }

    private static int integer(String option, String v) {
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " '" + v + "' is not an integer");
        }
    }

    private static int[] ints(String option, String v) {
        String[] parts = v.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = integer(option, parts[i]);
        }
        return out;
    }
}
