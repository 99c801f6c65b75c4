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
import java.util.concurrent.CompletableFuture;

/**
 * Stoker's side of the engine benchmark, run in its own JVM by {@link EngineBenchCommand} so that its peak RSS is
 * its own. Drives {@link LlmEngine#step()} directly and times steps:
 * <ul>
 *   <li>prefill: one step over a {@code promptTokens} prompt (batch 1);</li>
 *   <li>decode: the following {@code decodeTokens} steps of that request (batch 1);</li>
 *   <li>batch N: N requests with 16-token prompts; time of the steps after all prompts are computed, divided into
 *       the tokens they generated.</li>
 * </ul>
 * Each figure is the best of {@code trials} runs in the same JVM (this machine is shared and noisy; the best run is the
 * one least disturbed). Prints one JSON line per figure.
 *
 * <p>args: model dtype threads kvMb promptTokens decodeTokens batches(comma list) trials
 */
public final class StokerBenchWorker {
    private StokerBenchWorker() {
    }

    public static void main(String[] args) throws Exception {
        String model = args[0];
        String dtype = args[1];
        int threads = Integer.parseInt(args[2]);
        long kvMb = Long.parseLong(args[3]);
        int promptTokens = Integer.parseInt(args[4]);
        int decodeTokens = Integer.parseInt(args[5]);
        List<Integer> batches = new ArrayList<>();
        for (String b : args[6].split(",")) {
            batches.add(Integer.parseInt(b.trim()));
        }
        int trials = args.length > 7 ? Integer.parseInt(args[7]) : 1;
        int maxBatch = batches.stream().mapToInt(Integer::intValue).max().orElse(1);
        EngineConfig cfg = EngineConfig.defaults().withThreads(threads).withKvCacheBytes(kvMb << 20)
                .withMaxBatchTokens(Math.max(promptTokens, 16 * maxBatch)).withMaxNumSeqs(Math.max(64, maxBatch));
        try (LoadedModel m = ModelLoader.load(model); LlmEngine e = LlmEngine.local(m, cfg)) {
            long weightsMb = m.tensors().totalBytes() >> 20;
            int vocab = m.config().vocabSize();
            // warm-up: JIT the one-token and multi-token kernels
            run(e, vocab, 4, 16, 16);
            run(e, vocab, 1, 64, 16);
            for (int b : batches) {
                if (b == 1) {
                    double prefill = 0;
                    double decode = 0;
                    for (int trial = 0; trial < trials; trial++) {
                        int[] prompt = prompt(vocab, promptTokens, trial);
                        CompletableFuture<?> f = e.submit(GenerationRequest.ofIds(prompt,
                                SamplingParams.builder().maxTokens(decodeTokens + 1).ignoreEos(true).build()));
                        long t0 = System.nanoTime();
                        e.step();
                        long t1 = System.nanoTime();
                        int steps = 0;
                        while (!f.isDone()) {
                            e.step();
                            steps++;
                        }
                        long t2 = System.nanoTime();
                        prefill = Math.max(prefill, promptTokens * 1e9 / (t1 - t0));
                        decode = Math.max(decode, steps * 1e9 / (t2 - t1));
                    }
                    emit(BenchResult.line("stoker", dtype, 1, "prefill", prefill), threads, promptTokens, weightsMb,
                            kvMb, trials);
                    emit(BenchResult.line("stoker", dtype, 1, "decode", decode), threads, promptTokens, weightsMb,
                            kvMb, trials);
                } else {
                    double tps = 0;
                    for (int trial = 0; trial < trials; trial++) {
                        tps = Math.max(tps, run(e, vocab, b, 16, decodeTokens));
                    }
                    emit(BenchResult.line("stoker", dtype, b, "decode", tps), threads, 16, weightsMb, kvMb, trials);
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

    /** Runs {@code n} requests together; returns decode tokens/s after all prompts were computed. */
    private static double run(LlmEngine e, int vocab, int n, int promptTokens, int decodeTokens) {
        List<CompletableFuture<?>> fs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            fs.add(e.submit(GenerationRequest.ofIds(prompt(vocab, promptTokens, i + 1),
                    SamplingParams.builder().maxTokens(decodeTokens + 1).ignoreEos(true).build())));
        }
        long computed = 0;
        long total = (long) n * promptTokens;
        while (computed < total) {
            computed += e.step(); // prefill steps (the last one also samples each request's first token)
        }
        long t0 = System.nanoTime();
        long decoded = 0;
        while (!fs.stream().allMatch(CompletableFuture::isDone)) {
            decoded += e.step();
        }
        return decoded * 1e9 / (System.nanoTime() - t0);
    }

    static int[] prompt(int vocab, int n, int seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = 3 + (int) ((i * 7919L + seed * 104729L) % (vocab - 3));
        }
        return p;
    }
}
