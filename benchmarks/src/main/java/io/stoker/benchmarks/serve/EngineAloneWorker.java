package io.stoker.benchmarks.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.LoadedModel;
import io.stoker.llm.ModelLoader;
import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.sample.SamplingParams;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The engine alone, in its own JVM: {@code clients} requests submitted at once to a started engine (its own loop
 * thread, as under the server), the same prompts and settings the serve run uses. Prints one JSON line per trial:
 * generated tokens/s (all tokens over the wall time from the first submit to the last completion) and time to first
 * token p50/p99.
 *
 * <p>args: model threads kvMb maxBatchTokens maxNumSeqs clients promptTokens maxTokens trials
 */
public final class EngineAloneWorker {
    private EngineAloneWorker() {
    }

    public static void main(String[] args) throws Exception {
        String model = args[0];
        int threads = Integer.parseInt(args[1]);
        long kvMb = Long.parseLong(args[2]);
        int maxBatchTokens = Integer.parseInt(args[3]);
        int maxNumSeqs = Integer.parseInt(args[4]);
        int clients = Integer.parseInt(args[5]);
        int promptTokens = Integer.parseInt(args[6]);
        int maxTokens = Integer.parseInt(args[7]);
        int trials = Integer.parseInt(args[8]);
        EngineConfig cfg = EngineConfig.defaults().withThreads(threads).withKvCacheBytes(kvMb << 20)
                .withMaxBatchTokens(maxBatchTokens).withMaxNumSeqs(maxNumSeqs);
        ObjectMapper json = new ObjectMapper();
        try (LoadedModel m = ModelLoader.load(model); LlmEngine e = LlmEngine.local(m, cfg).start()) {
            int vocab = m.config().vocabSize();
            run(e, vocab, clients, promptTokens, 8); // warm-up
            for (int t = 0; t < trials; t++) {
                double[] r = run(e, vocab, clients, promptTokens, maxTokens);
                ObjectNode o = json.createObjectNode();
                o.put("bench", "serve").put("mode", "engine").put("trial", t + 1).put("clients", clients)
                        .put("prompt_tokens", promptTokens).put("max_tokens", maxTokens)
                        .put("generated_tokens", (long) r[0]).put("wall_s", r[1]).put("tokens_per_s", r[0] / r[1])
                        .put("ttft_p50_ms", r[2]).put("ttft_p99_ms", r[3]).put("threads", threads);
                System.out.println(json.writeValueAsString(o));
                System.out.flush();
            }
        }
    }

    /** @return generated tokens, wall seconds, TTFT p50 ms, TTFT p99 ms */
    private static double[] run(LlmEngine e, int vocab, int clients, int promptTokens, int maxTokens)
            throws Exception {
        long[] first = new long[clients];
        List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int c = 0; c < clients; c++) {
            int id = c;
            fs.add(e.submit(GenerationRequest.ofIds(Stats.prompt(c, promptTokens, vocab),
                    SamplingParams.builder().maxTokens(maxTokens).ignoreEos(true).build()), tok -> {
                        if (first[id] == 0) {
                            first[id] = System.nanoTime();
                        }
                    }));
        }
        long tokens = 0;
        for (CompletableFuture<GenerationResult> f : fs) {
            tokens += f.get().tokenIds().length;
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        List<Double> ttft = new ArrayList<>();
        for (long f : first) {
            ttft.add((f - t0) / 1e6);
        }
        return new double[]{tokens, wall, Stats.percentile(ttft, 50), Stats.percentile(ttft, 99)};
    }
}
