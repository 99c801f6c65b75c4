package io.stoker.benchmarks.engine;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;

import java.util.Iterator;

/**
 * llama.cpp's side of the engine benchmark (de.kherud:llama JNI), always in its own JVM: its native code can abort
 * the JVM ({@code setNProbs} does) and leaves a non-daemon thread after {@code close()}, so this ends with
 * {@code System.exit}. Streams a greedy completion and times it: prefill = prompt tokens / time to the first
 * output (which includes one decode step), decode = (outputs - 1) / time from the first to the last output.
 *
 * Each figure is the best of {@code trials} runs.
 *
 * <p>args: model.gguf dtype threads promptTokens decodeTokens trials
 */
public final class LlamaCppBenchWorker {
    private LlamaCppBenchWorker() {
    }

    public static void main(String[] args) {
        int status = 0;
        try {
            run(args);
        } catch (Throwable t) {
            t.printStackTrace();
            status = 1;
        }
        System.out.flush();
        System.exit(status);
    }

    private static void run(String[] args) {
        String model = args[0];
        String dtype = args[1];
        int threads = Integer.parseInt(args[2]);
        int promptTokens = Integer.parseInt(args[3]);
        int decodeTokens = Integer.parseInt(args[4]);
        int trials = args.length > 5 ? Integer.parseInt(args[5]) : 1;
        LlamaModel.setLogger(LogFormat.TEXT, (level, msg) -> { });
        ModelParameters mp = new ModelParameters().setModel(model).setThreads(threads).setThreadsBatch(threads)
                .setCtxSize(Math.max(512, promptTokens + decodeTokens + 64)).setBatchSize(512).setParallel(1)
                .setGpuLayers(0);
        try (LlamaModel llm = new LlamaModel(mp)) {
            String prompt = promptOf(llm, promptTokens);
            int actual = llm.encode(prompt).length;
            // warm-up
            time(llm, promptOf(llm, 16), 16);
            double prefill = 0;
            double decode = 0;
            for (int trial = 0; trial < trials; trial++) {
                double[] r = time(llm, prompt, decodeTokens + 1);
                prefill = Math.max(prefill, actual * 1e9 / r[0]);
                decode = Math.max(decode, (r[2] - 1) * 1e9 / r[1]);
            }
            emit(BenchResult.line("llama.cpp", dtype, 1, "prefill", prefill), threads, actual, trials);
            emit(BenchResult.line("llama.cpp", dtype, 1, "decode", decode), threads, actual, trials);
        }
    }

    private static void emit(com.fasterxml.jackson.databind.node.ObjectNode o, int threads, int promptTokens,
                             int trials) {
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

    /** Words from a fixed list until llama.cpp's own tokenizer counts {@code n} tokens. */
    private static String promptOf(LlamaModel llm, int n) {
        String[] words = {"the", "engine", "batches", "requests", "while", "Spark", "executors", "run", "models",
            "and", "tokens", "flow", "through", "channels", "between", "actors"};
        StringBuilder b = new StringBuilder();
        int i = 0;
        while (true) {
            String next = b.length() == 0 ? words[0] : b + " " + words[i % words.length];
            if (llm.encode(next).length > n) {
                return b.toString();
            }
            b.setLength(0);
            b.append(next);
            i++;
        }
    }
}
