package io.stoker.it;

import io.stoker.spark.actor.ActorEnv;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Actors the integration tests put in pools; executors construct them (test classes are on their classpath). */
public final class ItActors {
    private ItActors() {
    }

    /** "doubled" = 2 * id; "executor" = the executor that ran the batch. Property batchMillis: sleep per batch. */
    public static final class Doubler {
        private final BufferAllocator allocator;
        private final long batchMillis;
        private final byte[] executor;

        public Doubler(ActorEnv env) {
            this.allocator = env.allocator();
            this.batchMillis = Long.parseLong(env.properties().getOrDefault("batchMillis", "0"));
            this.executor = env.executorId().getBytes(StandardCharsets.UTF_8);
        }

        public VectorSchemaRoot doubled(VectorSchemaRoot in) throws InterruptedException {
            if (batchMillis > 0) {
                Thread.sleep(batchMillis);
            }
            BigIntVector id = (BigIntVector) in.getVector("id");
            int n = in.getRowCount();
            BigIntVector out = new BigIntVector("doubled", allocator);
            VarCharVector ex = new VarCharVector("executor", allocator);
            out.allocateNew(n);
            ex.allocateNew(n);
            for (int i = 0; i < n; i++) {
                out.set(i, id.get(i) * 2);
                ex.setSafe(i, executor);
            }
            out.setValueCount(n);
            ex.setValueCount(n);
            return VectorSchemaRoot.of(out, ex);
        }

        /** Wrong output type: "doubled" as a string. */
        public VectorSchemaRoot wrongType(VectorSchemaRoot in) {
            int n = in.getRowCount();
            VarCharVector out = new VarCharVector("doubled", allocator);
            VarCharVector ex = new VarCharVector("executor", allocator);
            out.allocateNew(n);
            ex.allocateNew(n);
            for (int i = 0; i < n; i++) {
                out.setSafe(i, "x".getBytes(StandardCharsets.UTF_8));
                ex.setSafe(i, executor);
            }
            out.setValueCount(n);
            ex.setValueCount(n);
            return VectorSchemaRoot.of(out, ex);
        }
    }

    /** A constructor that always throws, like a corrupt model. */
    public static final class Broken {
        public Broken() {
            throw new IllegalStateException("checkpoint shard 3 is truncated (test)");
        }

        public VectorSchemaRoot run(VectorSchemaRoot in) {
            return in;
        }
    }

    /** Column "model": the first line of config.txt in its "model" artifact (a directory). */
    public static final class ArtifactReader {
        private final BufferAllocator allocator;
        private final byte[] firstLine;

        public ArtifactReader(ActorEnv env) throws java.io.IOException {
            this.allocator = env.allocator();
            Path dir = env.artifact("model");
            this.firstLine = Files.readAllLines(dir.resolve("config.txt")).get(0).getBytes(StandardCharsets.UTF_8);
        }

        public VectorSchemaRoot model(VectorSchemaRoot in) {
            int n = in.getRowCount();
            VarCharVector out = new VarCharVector("model", allocator);
            out.allocateNew(n);
            for (int i = 0; i < n; i++) {
                out.setSafe(i, firstLine);
            }
            out.setValueCount(n);
            return VectorSchemaRoot.of(out);
        }
    }
}
