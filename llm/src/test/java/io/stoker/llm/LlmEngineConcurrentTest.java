package io.stoker.llm;

import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Many threads submit to a running engine; every request completes with the output it has alone. */
class LlmEngineConcurrentTest {
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldServeConcurrentSubmittersWithTheOutputsTheyGetAlone() throws Exception {
        List<GenerationRequest> rs = LlmEngineTest.mixedRequests();
        try (LoadedModel m = ModelLoader.load(TestModels.hf(TestModels.ENGINE, DType.F32).toString())) {
            LlmEngineTest.model = m;
            List<GenerationResult> expected = new ArrayList<>();
            for (GenerationRequest r : rs) {
                expected.add(LlmEngineTest.alone(r, LlmEngineTest.config()));
            }
            EngineConfig cfg = LlmEngineTest.config().withMaxBatchTokens(16);
            try (LlmEngine e = LlmEngine.local(m, cfg).start()) {
                int threads = 4;
                int perThread = 2;
                CountDownLatch go = new CountDownLatch(1);
                List<Thread> ts = new ArrayList<>();
                CompletableFuture<?>[][] fs = new CompletableFuture<?>[threads][perThread];
                List<Integer> streamed = new CopyOnWriteArrayList<>();
                for (int t = 0; t < threads; t++) {
                    final int id = t;
                    Thread th = new Thread(() -> {
                        try {
                            go.await();
                        } catch (InterruptedException ex) {
                            return;
                        }
                        for (int k = 0; k < perThread; k++) {
                            fs[id][k] = e.submit(rs.get(id * perThread + k), streamed::add);
                        }
                    });
                    th.start();
                    ts.add(th);
                }
                go.countDown();
                for (Thread th : ts) {
                    th.join();
                }
                List<GenerationResult> got = new ArrayList<>();
                int total = 0;
                for (int t = 0; t < threads; t++) {
                    for (int k = 0; k < perThread; k++) {
                        GenerationResult r = (GenerationResult) fs[t][k].get(60, TimeUnit.SECONDS);
                        got.add(r);
                        total += r.tokenIds().length;
                    }
                }
                LlmEngineTest.assertSameOutputs(got, expected);
                assertThat(streamed).as("every token streamed").hasSize(total);
            }
        }
    }
}
