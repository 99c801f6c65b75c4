package io.stoker.benchmarks.engine;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.LoadedModel;
import io.stoker.llm.ModelLoader;
import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.sample.SamplingParams;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Stoker's side of the engine benchmark, run in its own JVM by {@link EngineBenchCommand} so that its peak RSS is
 * its own. Drives {@link LlmEngine#step()} directly and times steps:
 * <ul>
 *   <li>prefill: one step over a {@code prompt}-token prompt (batch 1);</li>
 *   <li>decode: the following {@code decode} steps of that request (batch 1);</li>
 *   <li>batch N: N requests with 16-token prompts; time of the steps after all prompts are computed, divided into
 *       the tokens they generated;</li>
 *   <li>shared prefix ({@code mode=shared-prefix}): {@code requests} prompts of one shared {@code shared}-token prefix
 *       plus 16 tokens of their own, all submitted at once, each generating {@code decode} tokens; end-to-end
 *       generated tokens/s, and the prompt tokens the model computed, with prefix caching on or off.</li>
 * </ul>
 * Each throughput figure is the best of {@code trials} runs in the same JVM (the machine is shared and noisy; the best
 * run is the one least disturbed). Prints one JSON line per figure, with GFLOP/s per wall second and per CPU second.
 *
 * <p>args (key=value): model dtype threads kvMb prompt decode batches trials flops [mode shared requests
 * prefixCache]
 */
public final class StokerBenchWorker {
    private StokerBenchWorker() {
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> a = BenchResult.args(argv);
        String dtype = a.get("dtype");
        int threads = Integer.parseInt(a.get("threads"));
        long kvMb = Long.parseLong(a.get("kvMb"));
        int promptTokens = Integer.parseInt(a.get("prompt"));
        int decodeTokens = Integer.parseInt(a.get("decode"));
        int trials = Integer.parseInt(a.getOrDefault("trials", "1"));
        double flops = Double.parseDouble(a.get("flops"));
        boolean sharedPrefix = "shared-prefix".equals(a.get("mode"));
        List<Integer> batches = new ArrayList<>();
        for (String b : a.getOrDefault("batches", "1").split(",")) {
            batches.add(Integer.parseInt(b.trim()));
        }
        int maxBatch = batches.stream().mapToInt(Integer::intValue).max().orElse(1);
        EngineConfig cfg = EngineConfig.defaults().withThreads(threads).withKvCacheBytes(kvMb << 20)
                .withMaxBatchTokens(Math.max(promptTokens, 16 * maxBatch)).withMaxNumSeqs(Math.max(64, maxBatch));
        if (sharedPrefix) {
            cfg = EngineConfig.defaults().withThreads(threads).withKvCacheBytes(kvMb << 20)
                    .withPrefixCaching(Boolean.parseBoolean(a.get("prefixCache")));
        }
        try (LoadedModel m = ModelLoader.load(a.get("model")); LlmEngine e = LlmEngine.local(m, cfg)) {
            long weightsMb = m.tensors().totalBytes() >> 20;
            int vocab = m.config().vocabSize();
            if (sharedPrefix) {
                sharedPrefix(e, vocab, Integer.parseInt(a.get("shared")), Integer.parseInt(a.get("requests")),
                        decodeTokens, dtype, threads, flops, weightsMb, kvMb);
                return;
            }
            // warm-up: JIT the one-token and multi-token kernels
            run(e, vocab, 4, 16, 16, 0, new long[3]);
            run(e, vocab, 1, 64, 16, 0, new long[3]);
            for (int b : batches) {
                if (b == 1) {
                    double prefill = 0;
                    double decode = 0;
                    long[] best = new long[3];
                    for (int trial = 0; trial < trials; trial++) {
                        int[] prompt = BenchResult.prompt(vocab, promptTokens, trial);
                        CompletableFuture<?> f = e.submit(GenerationRequest.ofIds(prompt,
                                SamplingParams.builder().maxTokens(decodeTokens + 1).ignoreEos(true).build()));
                        long t0 = System.nanoTime();
                        e.step();
                        long t1 = System.nanoTime();
                        long c1 = BenchResult.processCpuNanos();
                        int steps = 0;
                        while (!f.isDone()) {
                            e.step();
                            steps++;
                        }
                        long t2 = System.nanoTime();
                        long c2 = BenchResult.processCpuNanos();
                        prefill = Math.max(prefill, promptTokens * 1e9 / (t1 - t0));
                        double d = steps * 1e9 / (t2 - t1);
                        if (d > decode) {
                            decode = d;
                            best = new long[]{steps, t2 - t1, c2 - c1};
                        }
                    }
                    emit(BenchResult.line("stoker", dtype, 1, "prefill", prefill), threads, promptTokens, weightsMb,
                            kvMb, trials);
                    ObjectNode o = BenchResult.line("stoker", dtype, 1, "decode", decode);
                    BenchResult.flops(o, flops, best[0], best[1], best[2]);
                    emit(o, threads, promptTokens, weightsMb, kvMb, trials);
                } else {
                    double tps = 0;
                    long[] best = new long[3];
                    for (int trial = 0; trial < trials; trial++) {
                        long[] r = new long[3];
                        double t = run(e, vocab, b, 16, decodeTokens, trial + 1, r);
                        if (t > tps) {
                            tps = t;
                            best = r;
                        }
                    }
                    ObjectNode o = BenchResult.line("stoker", dtype, b, "decode", tps);
                    BenchResult.flops(o, flops, best[0], best[1], best[2]);
                    emit(o, threads, 16, weightsMb, kvMb, trials);
                }
            }
        }
    }

    private static void emit(ObjectNode o, int threads, int promptTokens, long weightsMb, long kvMb, int trials) {
        o.put("threads", threads);
        o.put("trials", trials);
        o.put("prompt_tokens", promptTokens);
        o.put("weights_mb", weightsMb);
        o.put("kv_budget_mb", kvMb);
        o.put("peak_rss_mb", BenchResult.peakRssMb());
        System.out.println(BenchResult.json(o));
        System.out.flush();
    }

    /**
     * Runs {@code n} requests together; returns decode tokens/s after all prompts were computed, and fills
     * {@code out} with {tokens, wall ns, process CPU ns} of that window.
     */
    private static double run(LlmEngine e, int vocab, int n, int promptTokens, int decodeTokens, int seed,
                              long[] out) {
        List<CompletableFuture<?>> fs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            fs.add(e.submit(GenerationRequest.ofIds(BenchResult.prompt(vocab, promptTokens, 1000 * seed + i + 1),
                    SamplingParams.builder().maxTokens(decodeTokens + 1).ignoreEos(true).build())));
        }
        long computed = 0;
        long total = (long) n * promptTokens;
        while (computed < total) {
            computed += e.step(); // prefill steps (the last one also samples each request's first token)
        }
        long t0 = System.nanoTime();
        long c0 = BenchResult.processCpuNanos();
        long decoded = 0;
        while (!fs.stream().allMatch(CompletableFuture::isDone)) {
            decoded += e.step();
        }
        long wall = System.nanoTime() - t0;
        out[0] = decoded;
        out[1] = wall;
        out[2] = BenchResult.processCpuNanos() - c0;
        return decoded * 1e9 / wall;
    }

    /** All requests at once; one JSON line with the prefix-cache figures. */
    private static void sharedPrefix(LlmEngine e, int vocab, int shared, int requests, int decodeTokens, String dtype,
                                     int threads, double flops, long weightsMb, long kvMb) throws Exception {
        int own = 16;
        int[] prefix = BenchResult.prompt(vocab, shared, 424242);
        // warm-up on other tokens (JIT), then reset nothing: the counters below are differences
        List<CompletableFuture<?>> warm = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            warm.add(e.submit(GenerationRequest.ofIds(BenchResult.prompt(vocab, 48, 77 + i),
                    SamplingParams.builder().maxTokens(8).ignoreEos(true).build())));
        }
        e.runUntilIdle();
        LlmEngine.Stats s0 = e.stats();
        List<CompletableFuture<?>> fs = new ArrayList<>();
        long t0 = System.nanoTime();
        long c0 = BenchResult.processCpuNanos();
        for (int i = 0; i < requests; i++) {
            int[] p = new int[shared + own];
            System.arraycopy(prefix, 0, p, 0, shared);
            System.arraycopy(BenchResult.prompt(vocab, own, 5000 + i), 0, p, shared, own);
            fs.add(e.submit(GenerationRequest.ofIds(p, SamplingParams.builder().maxTokens(decodeTokens)
                    .ignoreEos(true).build())));
        }
        e.runUntilIdle();
        long wall = System.nanoTime() - t0;
        long cpu = BenchResult.processCpuNanos() - c0;
        for (CompletableFuture<?> f : fs) {
            f.get();
        }
        LlmEngine.Stats s1 = e.stats();
        long generated = (long) requests * decodeTokens;
        ObjectNode o = BenchResult.line("stoker", dtype, e.config().maxNumSeqs(), "shared_prefix",
                generated * 1e9 / wall);
        o.put("prefix_cache", e.config().prefixCaching());
        o.put("requests", requests);
        o.put("shared_prefix_tokens", shared);
        o.put("own_prompt_tokens", own);
        o.put("decode_tokens", decodeTokens);
        o.put("prefill_tokens_computed", s1.promptTokensComputed() - s0.promptTokensComputed());
        o.put("prompt_tokens", (long) requests * (shared + own));
        o.put("prefix_cache_hit_tokens", s1.prefixCacheHits() - s0.prefixCacheHits());
        o.put("elapsed_s", BenchResult.round(wall / 1e9));
        o.put("total_tokens_per_s", BenchResult.round((s1.tokensComputed() - s0.tokensComputed()) * 1e9 / wall));
        BenchResult.flops(o, flops, s1.tokensComputed() - s0.tokensComputed(), wall, cpu);
        o.put("threads", threads);
        o.put("weights_mb", weightsMb);
        o.put("kv_budget_mb", kvMb);
        o.put("peak_rss_mb", BenchResult.peakRssMb());
        System.out.println(BenchResult.json(o));
        System.out.flush();
    }
}
