package io.stoker.it.submitapp;

import io.stoker.spark.actor.ActorEnv;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;

/** The probe's actor: "doubled" = 2 * id, built from the actor's allocator. */
public final class ProbeDoubler {
    private final BufferAllocator allocator;

    public ProbeDoubler(ActorEnv env) {
        this.allocator = env.allocator();
    }

    public VectorSchemaRoot doubled(VectorSchemaRoot batch) {
        BigIntVector id = (BigIntVector) batch.getVector("id");
        int n = batch.getRowCount();
        BigIntVector out = new BigIntVector("doubled", allocator);
        out.allocateNew(n);
        for (int i = 0; i < n; i++) {
            out.set(i, 2 * id.get(i));
        }
        out.setValueCount(n);
        return VectorSchemaRoot.of(out);
    }
}
