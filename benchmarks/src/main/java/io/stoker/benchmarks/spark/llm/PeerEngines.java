package io.stoker.benchmarks.spark.llm;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.ModelLoader;
import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.sample.SamplingParams;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The peers that Stoker's shared engine is measured against, as plain {@code mapPartitions} functions over rows
 * {@code (id bigint, q string)}. Both run the engine's step loop on the task thread ({@link LlmEngine#runUntilIdle}),
 * as a Python UDF runs its model in the task's worker:
 * <ul>
 *   <li>{@link #perPartition}: (c) loads the model and builds an engine in every partition, submits the whole
 *   partition at once (continuous batching within it), closes the engine at the end;</li>
 *   <li>{@link #perTask}: (d) one unshared engine per task thread, kept for later tasks on that thread (like a reused
 *   Python worker of {@code predict_batch_udf}), fed {@code batchSize} rows at a time, each batch run to
 *   completion before the next.</li>
 * </ul>
 * Loads and engine steps are counted in accumulators.
 */
public final class PeerEngines implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Output rows: the id and what llmMap would return for the row. */
    public static final StructType OUTPUT = new StructType()
            .add("id", DataTypes.LongType)
            .add("generated_text", DataTypes.StringType)
            .add("num_input_tokens", DataTypes.IntegerType)
            .add("num_generated_tokens", DataTypes.IntegerType)
            .add("error", DataTypes.StringType);

    /** Engines kept per task thread for way d, by model and engine settings. */
    private static final ThreadLocal<Map<String, LlmEngine>> PER_THREAD = ThreadLocal.withInitial(HashMap::new);

    private final String model;
    private final long kvCacheBytes;
    private final int threads;
    private final int maxTokens;
    private final int batchSize;
    private final LongAccumulator loads;
    private final LongAccumulator steps;

    /**
     * @param threads   kernel threads per engine
     * @param batchSize rows per batch (way d)
     * @param loads     counts model loads
     * @param steps     counts engine steps
     */
    public PeerEngines(String model, long kvCacheBytes, int threads, int maxTokens, int batchSize,
                       LongAccumulator loads, LongAccumulator steps) {
        this.model = model;
        this.kvCacheBytes = kvCacheBytes;
        this.threads = threads;
        this.maxTokens = maxTokens;
        this.batchSize = batchSize;
        this.loads = loads;
        this.steps = steps;
    }

    /** @return the engine settings (the engine's defaults, with the benchmark's KV budget and threads) */
    public static EngineConfig engineConfig(long kvCacheBytes, int threads) {
        return EngineConfig.defaults().withKvCacheBytes(kvCacheBytes).withThreads(threads);
    }

    /** @return greedy decoding of exactly {@code maxTokens} tokens */
    public static SamplingParams sampling(int maxTokens) {
        return SamplingParams.builder().temperature(0).maxTokens(maxTokens).ignoreEos(true).build();
    }

    /** (c) A model and an engine per partition. */
    public MapPartitionsFunction<Row, Row> perPartition() {
        return rows -> {
            List<Row> in = new ArrayList<>();
            rows.forEachRemaining(in::add);
            LoadedModel m = ModelLoader.load(model);
            loads.add(1);
            try (LlmEngine e = LlmEngine.local(m, engineConfig(kvCacheBytes, threads))) {
                return generate(e, in).iterator();
            } finally {
                m.close();
            }
        };
    }

    /** (d) One engine per task thread, fed batch by batch. */
    public MapPartitionsFunction<Row, Row> perTask() {
        return rows -> {
            LlmEngine e = PER_THREAD.get().computeIfAbsent(model + "|" + kvCacheBytes + "|" + threads, k -> {
                loads.add(1);
                return LlmEngine.local(ModelLoader.load(model), engineConfig(kvCacheBytes, threads));
            });
            return new Iterator<Row>() {
                private Iterator<Row> batch = List.<Row>of().iterator();

                @Override
                public boolean hasNext() {
                    while (!batch.hasNext() && rows.hasNext()) {
                        List<Row> in = new ArrayList<>(batchSize);
                        while (in.size() < batchSize && rows.hasNext()) {
                            in.add(rows.next());
                        }
                        batch = generate(e, in).iterator();
                    }
                    return batch.hasNext();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new java.util.NoSuchElementException();
                    }
                    return batch.next();
                }
            };
        };
    }

    /** Submits every row, steps the engine on this thread until all finished, returns one output row per input. */
    private List<Row> generate(LlmEngine e, List<Row> in) {
        SamplingParams p = sampling(maxTokens);
        List<CompletableFuture<GenerationResult>> fs = new ArrayList<>(in.size());
        List<String> refused = new ArrayList<>(in.size());
        for (Row r : in) {
            try {
                fs.add(e.submit(GenerationRequest.ofText(r.getString(1), p)));
                refused.add(null);
            } catch (IllegalArgumentException x) {
                fs.add(null);
                refused.add(x.getMessage());
            }
        }
        long s0 = e.stats().steps();
        e.runUntilIdle();
        steps.add(e.stats().steps() - s0);
        List<Row> out = new ArrayList<>(in.size());
        for (int i = 0; i < in.size(); i++) {
            long id = in.get(i).getLong(0);
            if (fs.get(i) == null) {
                out.add(RowFactory.create(id, null, 0, 0, refused.get(i)));
                continue;
            }
            GenerationResult g = fs.get(i).join();
            out.add(RowFactory.create(id, g.text(), g.promptIds().length, g.tokenIds().length, null));
        }
        return out;
    }
}
