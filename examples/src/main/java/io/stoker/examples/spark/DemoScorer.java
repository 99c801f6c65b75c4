package io.stoker.examples.spark;

import io.stoker.spark.actor.ActorEnv;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;

import java.nio.charset.StandardCharsets;
import java.util.Random;

/**
 * The demo's "model": an embedding table built in the constructor (a stand-in for loading weights; property
 * {@code loadMillis} adds a sleep like a real load), scoring each row as the mean of its tokens' embeddings dotted
 * with a weight vector. Reports which executor, actor and GPU scored each row (column "placement").
 */
public final class DemoScorer {
    private static final int VOCAB = 32_000;
    private static final int DIM = 64;

    private final BufferAllocator allocator;
    private final float[] embeddings = new float[VOCAB * DIM];
    private final float[] weights = new float[DIM];
    private final byte[] placement;

    public DemoScorer(ActorEnv env) throws InterruptedException {
        this.allocator = env.allocator();
        Random r = new Random(42);
        for (int i = 0; i < embeddings.length; i++) {
            embeddings[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < DIM; i++) {
            weights[i] = (float) r.nextGaussian() / DIM;
        }
        long load = Long.parseLong(env.properties().getOrDefault("loadMillis", "0"));
        if (load > 0) {
            Thread.sleep(load);
        }
        String gpus = env.gpuIds().isEmpty() ? "cpu" : "gpu" + String.join("+", env.gpuIds());
        this.placement = (env.executorId() + "/" + env.context().name() + "/" + gpus).getBytes(StandardCharsets.UTF_8);
    }

    /** @return columns score (double), tokens (int), placement (string) */
    public VectorSchemaRoot score(int[][] tokens) {
        int n = tokens.length;
        Float8Vector score = new Float8Vector("score", allocator);
        IntVector count = new IntVector("tokens", allocator);
        VarCharVector where = new VarCharVector("placement", allocator);
        score.allocateNew(n);
        count.allocateNew(n);
        where.allocateNew((long) n * placement.length, n);
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int t : tokens[i]) {
                int base = t * DIM;
                for (int d = 0; d < DIM; d++) {
                    s += embeddings[base + d] * weights[d];
                }
            }
            score.set(i, tokens[i].length == 0 ? 0 : s / tokens[i].length);
            count.set(i, tokens[i].length);
            where.setSafe(i, placement);
        }
        score.setValueCount(n);
        count.setValueCount(n);
        where.setValueCount(n);
        return VectorSchemaRoot.of(score, count, where);
    }
}
