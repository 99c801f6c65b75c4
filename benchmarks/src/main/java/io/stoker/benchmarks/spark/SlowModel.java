package io.stoker.benchmarks.spark;

import io.stoker.spark.actor.ActorEnv;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * A stand-in for a model whose load takes a while: the constructor sleeps {@code loadMillis} (property, default
 * 2000) and builds a small weight table; {@link #score} applies it to column "id". Used as a Stoker pool actor and,
 * for the naive baseline, constructed in every partition.
 */
public final class SlowModel {
    private final long[] weights = new long[1024];
    private final BufferAllocator allocator;

    /** As a Stoker actor. */
    public SlowModel(ActorEnv env) throws InterruptedException {
        this(Long.parseLong(env.properties().getOrDefault("loadMillis", "2000")), env.allocator());
    }

    /** As a naive per-partition model (no allocator: scores single rows). */
    public SlowModel(long loadMillis, BufferAllocator allocator) throws InterruptedException {
        Thread.sleep(loadMillis);
        for (int i = 0; i < weights.length; i++) {
            weights[i] = i * 31L + 7;
        }
        this.allocator = allocator;
    }

    public long scoreOne(long id) {
        return id * 2 + weights[(int) (id & 1023)];
    }

    /** Column "score" for column "id" of the batch. */
    public VectorSchemaRoot score(VectorSchemaRoot in) {
        BigIntVector id = (BigIntVector) in.getVector("id");
        int n = in.getRowCount();
        BigIntVector out = new BigIntVector("score", allocator);
        out.allocateNew(n);
        for (int i = 0; i < n; i++) {
            out.set(i, scoreOne(id.get(i)));
        }
        out.setValueCount(n);
        return VectorSchemaRoot.of(out);
    }
}
