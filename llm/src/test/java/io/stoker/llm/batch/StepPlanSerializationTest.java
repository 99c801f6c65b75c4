package io.stoker.llm.batch;

import io.stoker.llm.LlmEngineTest;
import io.stoker.llm.LoadedModel;
import io.stoker.llm.ModelLoader;
import io.stoker.llm.TestModels;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.runner.RunnerOutput;
import io.stoker.llm.runner.StepPlan;
import io.stoker.llm.tensor.DType;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The step plan is everything a model runner needs: plans and outputs that went through Java serialization (as they
 * would to an actor in another process) drive the engine to the same results as the in-memory objects.
 */
class StepPlanSerializationTest {
    @SuppressWarnings("unchecked")
    static <T> T roundTrip(T o) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(o);
            }
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
                return (T) in.readObject();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Serializes every plan before the runner sees it and every output before the scheduler sees it. */
    static final class SerializingExecutor implements ModelExecutor {
        final LocalExecutor real;
        final List<StepPlan> plans = new ArrayList<>();

        SerializingExecutor(LocalExecutor real) {
            this.real = real;
        }

        @Override
        public RunnerOutput execute(StepPlan plan) {
            StepPlan copy = roundTrip(plan);
            assertThat(copy).isEqualTo(plan).isNotSameAs(plan);
            plans.add(copy);
            RunnerOutput out = real.execute(copy);
            RunnerOutput back = roundTrip(out);
            assertThat(back).isEqualTo(out);
            return back;
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
    }

    @Test
    void shouldGiveTheSameResultsWhenEveryPlanAndOutputCrossesSerialization() throws Exception {
        try (LoadedModel m = ModelLoader.load(TestModels.hf(TestModels.ENGINE, DType.F32).toString())) {
            // small steps and blocks: chunked prefill, several block-table deltas, preemption
            EngineConfig cfg = LlmEngineTest.config().withMaxBatchTokens(9).withBlockSize(4)
                    .withKvCacheBytes(24L * 4096);
            List<GenerationResult> expected = run(m, new LocalExecutor(m, cfg), cfg);
            SerializingExecutor ser = new SerializingExecutor(new LocalExecutor(m, cfg));
            List<GenerationResult> got = run(m, ser, cfg);
            LlmEngineTest.assertSameOutputs(got, expected);
            assertThat(ser.plans).as("plans that registered requests").anyMatch(p -> !p.newRequests().isEmpty());
            assertThat(ser.plans).as("plans that freed requests").anyMatch(p -> !p.finished().isEmpty());
            assertThat(got.stream().mapToInt(GenerationResult::preemptions).sum()).as("preemptions").isPositive();
        }
    }

    private static List<GenerationResult> run(LoadedModel m, ModelExecutor ex, EngineConfig cfg) throws Exception {
        try (LlmEngine e = new LlmEngine(m, ex, cfg)) {
            List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
            for (GenerationRequest r : LlmEngineTest.mixedRequests()) {
                fs.add(e.submit(r));
            }
            e.runUntilIdle();
            List<GenerationResult> out = new ArrayList<>();
            for (CompletableFuture<GenerationResult> f : fs) {
                out.add(f.get());
            }
            return out;
        }
    }
}
