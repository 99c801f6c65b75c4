package io.stoker.llm;

import io.stoker.llm.batch.EngineDeadException;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.batch.LocalExecutor;
import io.stoker.llm.batch.ModelExecutor;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.runner.RunnerOutput;
import io.stoker.llm.runner.StepPlan;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.tensor.DType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Cancelled requests free their KV blocks; an engine whose step loop dies fails every waiting request at once. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LlmEngineLifecycleTest {
    static LoadedModel model;

    @BeforeAll
    static void load() {
        model = ModelLoader.load(TestModels.hf(TestModels.ENGINE, DType.F32).toString());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void shouldFreeTheBlocksOfCancelledRequestsAndKeepServingOthers() throws Exception {
        SamplingParams longRun = SamplingParams.builder().maxTokens(200).ignoreEos(true).build();
        try (LlmEngine e = LlmEngine.local(model, LlmEngineTest.config())) {
            int total = e.stats().totalBlocks();
            List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                fs.add(e.submit(GenerationRequest.ofIds(LlmEngineTest.prompt(20, i), longRun)));
            }
            for (int i = 0; i < 5; i++) {
                e.step();
            }
            assertThat(e.stats().freeBlocks()).isLessThan(total);
            for (int i = 0; i < 5; i++) {
                assertThat(fs.get(i).cancel(true)).isTrue();
            }
            e.step();
            assertThat(e.stats().running()).isEqualTo(1);
            e.runUntilIdle();
            assertThat(fs.get(5).get().tokenIds()).hasSize(200);
            assertThat(e.stats().freeBlocks()).isEqualTo(total);
            assertThat(e.stats().running() + e.stats().waiting()).isZero();
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(io.stoker.runtime.channel.IdleKind.class)
    void shouldServeFromItsAgentThreadWithEveryIdleKind(io.stoker.runtime.channel.IdleKind idle) throws Exception {
        List<GenerationRequest> rs = LlmEngineTest.mixedRequests().subList(0, 3);
        List<GenerationResult> expected = new ArrayList<>();
        for (GenerationRequest r : rs) {
            try (LlmEngine alone = LlmEngine.local(model, LlmEngineTest.config())) {
                CompletableFuture<GenerationResult> f = alone.submit(r);
                alone.runUntilIdle();
                expected.add(f.get());
            }
        }
        try (LlmEngine e = LlmEngine.local(model, LlmEngineTest.config().withIdle(idle)).start()) {
            List<GenerationResult> got = new ArrayList<>();
            for (GenerationRequest r : rs) {
                Thread.sleep(5); // let the loop go idle (and park, for the parking kinds) before each request
                got.add(e.submit(r).get(30, TimeUnit.SECONDS));
            }
            LlmEngineTest.assertSameOutputs(got, expected);
        }
    }

    @Test
    void shouldFailEveryPendingRequestAtOnceWhenTheStepLoopDies() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        LocalExecutor real = new LocalExecutor(model, LlmEngineTest.config());
        ModelExecutor dying = new ModelExecutor() {
            @Override
            public RunnerOutput execute(StepPlan plan) {
                if (calls.incrementAndGet() == 4) {
                    throw new OutOfMemoryError("simulated: Java heap space");
                }
                return real.execute(plan);
            }

            @Override
            public float[] logits(ForwardBatch batch) {
                return real.logits(batch);
            }

            @Override
            public int numBlocks() {
                return real.numBlocks();
            }

            @Override
            public void close() {
                real.close();
            }
        };
        SamplingParams p = SamplingParams.builder().maxTokens(100).ignoreEos(true).build();
        try (LlmEngine e = new LlmEngine(model, dying, LlmEngineTest.config()).start()) {
            List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                fs.add(e.submit(GenerationRequest.ofIds(LlmEngineTest.prompt(8, i), p)));
            }
            for (CompletableFuture<GenerationResult> f : fs) {
                assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                        .hasCauseInstanceOf(EngineDeadException.class)
                        .hasMessageContaining("Java heap space");
            }
            assertThat(e.isUsable()).isFalse();
            assertThat(e.failure()).isInstanceOf(OutOfMemoryError.class);
            assertThatThrownBy(() -> e.submit(GenerationRequest.ofIds(LlmEngineTest.prompt(8, 9), p)))
                    .isInstanceOf(EngineDeadException.class).hasMessageContaining("build a new engine");
        }
    }
}
