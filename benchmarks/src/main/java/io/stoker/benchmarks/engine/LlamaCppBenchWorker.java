package io.stoker.benchmarks.engine;

import com.fasterxml.jackson.databind.node.ObjectNode;
import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * llama.cpp's side of the engine benchmark (de.kherud:llama JNI), always in its own JVM: its native code can abort
 * the JVM ({@code setNProbs} does) and leaves a non-daemon thread after {@code close()}, so this ends with
 * {@code System.exit}.
 * <ul>
 *   <li>batch 1: streams a greedy completion and times it: prefill = prompt tokens / time to the first output (which
 *       includes one decode step), decode = (outputs - 1) / time from the first to the last output;</li>
 *   <li>batch N: llama.cpp's own continuous batching: a model with {@code N} parallel slots
 *       ({@code setParallel(N)}, a context of N x 128 tokens), N threads streaming N completions of 16-token prompts
 *       at once; tokens/s = outputs produced after the last stream's first output / time from then to the last
 *       output (the same window as Stoker's batch figure: all prompts computed).</li>
 * </ul>
 * Each figure is the best of {@code trials} runs.
 *
 * <p>args (key=value): model dtype threads prompt decode batches trials flops
 */
public final class LlamaCppBenchWorker {
    private LlamaCppBenchWorker() {
    }

    public static void main(String[] args) {
        int status = 0;
        try {
            run(BenchResult.args(args));
        } catch (Throwable t) {
            t.printStackTrace();
            status = 1;
        }
        System.out.flush();
        System.exit(status);
    }

    private static void run(Map<String, String> a) throws InterruptedException {
        String model = a.get("model");
        String dtype = a.get("dtype");
        int threads = Integer.parseInt(a.get("threads"));
        int promptTokens = Integer.parseInt(a.get("prompt"));
        int decodeTokens = Integer.parseInt(a.get("decode"));
        int trials = Integer.parseInt(a.getOrDefault("trials", "1"));
        double flops = Double.parseDouble(a.get("flops"));
        LlamaModel.setLogger(LogFormat.TEXT, (level, msg) -> { });
        for (String bs : a.getOrDefault("batches", "1").split(",")) {
            int batch = Integer.parseInt(bs.trim());
            if (batch == 1) {
                single(model, dtype, threads, promptTokens, decodeTokens, trials, flops);
            } else {
                parallel(model, dtype, threads, batch, decodeTokens, trials, flops);
            }
        }
    }

    private static void single(String model, String dtype, int threads, int promptTokens, int decodeTokens,
                               int trials, double flops) {
        ModelParameters mp = new ModelParameters().setModel(model).setThreads(threads).setThreadsBatch(threads)
                .setCtxSize(Math.max(512, promptTokens + decodeTokens + 64)).setBatchSize(512).setParallel(1)
                .setGpuLayers(0);
        try (LlamaModel llm = new LlamaModel(mp)) {
            String prompt = promptOf(llm, promptTokens, 0);
            int actual = llm.encode(prompt).length;
            time(llm, promptOf(llm, 16, 0), 16); // warm-up
            double prefill = 0;
            double decode = 0;
            long[] best = new long[3];
            for (int trial = 0; trial < trials; trial++) {
                long c0 = BenchResult.processCpuNanos();
                double[] r = time(llm, prompt, decodeTokens + 1);
                long cpu = BenchResult.processCpuNanos() - c0;
                prefill = Math.max(prefill, actual * 1e9 / r[0]);
                double d = (r[2] - 1) * 1e9 / r[1];
                if (d > decode) {
                    decode = d;
                    // CPU time of the whole call (prefill included): an upper bound for the decode window
                    best = new long[]{(long) r[2] - 1, (long) r[1], (long) (cpu * r[1] / (r[0] + r[1]))};
                }
            }
            emit(BenchResult.line("llama.cpp", dtype, 1, "prefill", prefill), threads, actual, trials);
            ObjectNode o = BenchResult.line("llama.cpp", dtype, 1, "decode", decode);
            BenchResult.flops(o, flops, best[0], best[1], best[2]);
            emit(o, threads, actual, trials);
        }
    }

    private static void parallel(String model, String dtype, int threads, int batch, int decodeTokens, int trials,
                                 double flops) throws InterruptedException {
        int perSlot = 128;
        ModelParameters mp = new ModelParameters().setModel(model).setThreads(threads).setThreadsBatch(threads)
                .setCtxSize(batch * perSlot).setBatchSize(512).setParallel(batch).enableContBatching()
                .setGpuLayers(0);
        try (LlamaModel llm = new LlamaModel(mp)) {
            List<String> prompts = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                prompts.add(promptOf(llm, 16, i + 1));
            }
            streams(llm, prompts.subList(0, Math.min(4, batch)), 8); // warm-up
            double best = 0;
            long[] bestR = new long[3];
            for (int trial = 0; trial < trials; trial++) {
                long[] r = streams(llm, prompts, decodeTokens + 1);
                double tps = r[0] * 1e9 / r[1];
                if (tps > best) {
                    best = tps;
                    bestR = r;
                }
            }
            ObjectNode o = BenchResult.line("llama.cpp", dtype, batch, "decode", best);
            BenchResult.flops(o, flops, bestR[0], bestR[1], bestR[2]);
            o.put("parallel_slots", batch);
            emit(o, threads, 16, trials);
        }
    }

    /**
     * Streams one completion per prompt from as many threads at once. @return {outputs after every stream's first
     * output, ns from then to the last output, process CPU ns over the whole run scaled to that window}
     */
    private static long[] streams(LlamaModel llm, List<String> prompts, int n) throws InterruptedException {
        int k = prompts.size();
        long[][] stamps = new long[k][n + 1];
        int[] counts = new int[k];
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> ts = new ArrayList<>();
        Throwable[] failure = new Throwable[1];
        for (int i = 0; i < k; i++) {
            final int id = i;
            Thread t = new Thread(() -> {
                try {
                    go.await();
                    InferenceParameters ip = new InferenceParameters(prompts.get(id)).setNPredict(n)
                            .setTemperature(0f).setTopK(1).setIgnoreEos(true).setCachePrompt(false).setSeed(1);
                    Iterator<LlamaOutput> it = llm.generate(ip).iterator();
                    while (it.hasNext()) {
                        it.next();
                        if (counts[id] < stamps[id].length) {
                            stamps[id][counts[id]++] = System.nanoTime();
                        }
                    }
                } catch (Throwable e) {
                    failure[0] = e;
                }
            }, "llama-stream-" + i);
            ts.add(t);
            t.start();
        }
        long c0 = BenchResult.processCpuNanos();
        long t0 = System.nanoTime();
        go.countDown();
        for (Thread t : ts) {
            t.join();
        }
        long cpu = BenchResult.processCpuNanos() - c0;
        long total = System.nanoTime() - t0;
        if (failure[0] != null) {
            throw new IllegalStateException("a llama.cpp stream failed: " + failure[0], failure[0]);
        }
        long start = 0;
        long end = 0;
        for (int i = 0; i < k; i++) {
            start = Math.max(start, stamps[i][0]);
            end = Math.max(end, stamps[i][counts[i] - 1]);
        }
        long tokens = 0;
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < counts[i]; j++) {
                tokens += stamps[i][j] > start ? 1 : 0;
            }
        }
        long window = Math.max(1, end - start);
        return new long[]{tokens, window, (long) ((double) cpu * window / total)};
    }

    private static void emit(ObjectNode o, int threads, int promptTokens, int trials) {
        o.put("threads", threads);
        o.put("trials", trials);
        o.put("prompt_tokens", promptTokens);
        o.put("peak_rss_mb", BenchResult.peakRssMb());
        System.out.println(BenchResult.json(o));
        System.out.flush();
    }

    /** @return {time to first output, time first to last output, outputs} in ns */
    private static double[] time(LlamaModel llm, String prompt, int n) {
        InferenceParameters ip = new InferenceParameters(prompt).setNPredict(n).setTemperature(0f).setTopK(1)
                .setIgnoreEos(true).setCachePrompt(false).setSeed(1);
        long t0 = System.nanoTime();
        long first = 0;
        long last = 0;
        int count = 0;
        Iterator<LlamaOutput> it = llm.generate(ip).iterator();
        while (it.hasNext()) {
            it.next();
            long now = System.nanoTime();
            if (count == 0) {
                first = now;
            }
            last = now;
            count++;
        }
        return new double[]{first - t0, last - first, count};
    }

    /** Words from a fixed list, rotated by {@code seed}, until llama.cpp's own tokenizer counts {@code n} tokens. */
    private static String promptOf(LlamaModel llm, int n, int seed) {
        String[] words = {"the", "engine", "batches", "requests", "while", "Spark", "executors", "run", "models",
            "and", "tokens", "flow", "through", "channels", "between", "actors"};
        StringBuilder b = new StringBuilder();
        int i = seed;
        while (true) {
            String next = b.length() == 0 ? words[i % words.length] : b + " " + words[i % words.length];
            if (llm.encode(next).length > n) {
                return b.toString();
            }
            b.setLength(0);
            b.append(next);
            i++;
        }
    }
}
