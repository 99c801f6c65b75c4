package io.stoker.spark.testing;

import io.stoker.spark.actor.ActorEnv;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Actor classes the Spark tests put in pools. Public with public constructors: executors construct them. */
public final class TestActors {
    private TestActors() {
    }

    /** Reads column "id" (bigint) and returns "doubled" = 2 * id, plus the GPU and executor it ran on. */
    public static final class Doubler {
        private final BufferAllocator allocator;
        private final String where;

        public Doubler(ActorEnv env) {
            this.allocator = env.allocator();
            this.where = env.executorId() + "/" + env.context().name() + "/" + String.join("+", env.gpuIds());
        }

        public VectorSchemaRoot doubled(VectorSchemaRoot in) {
            BigIntVector id = (BigIntVector) in.getVector("id");
            int n = in.getRowCount();
            BigIntVector out = new BigIntVector("doubled", allocator);
            out.allocateNew(n);
            for (int i = 0; i < n; i++) {
                out.set(i, id.get(i) * 2);
            }
            out.setValueCount(n);
            return VectorSchemaRoot.of(out);
        }

        /** "doubled" and "actor" (executor/actor/gpus of the actor that ran the batch). */
        public VectorSchemaRoot doubledWithPlacement(VectorSchemaRoot in) {
            BigIntVector id = (BigIntVector) in.getVector("id");
            int n = in.getRowCount();
            BigIntVector out = new BigIntVector("doubled", allocator);
            VarCharVector actor = new VarCharVector("actor", allocator);
            out.allocateNew(n);
            actor.allocateNew(n);
            byte[] w = where.getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < n; i++) {
                out.set(i, id.get(i) * 2);
                actor.setSafe(i, w);
            }
            out.setValueCount(n);
            actor.setValueCount(n);
            return VectorSchemaRoot.of(out, actor);
        }

        /** Returns a batch whose column has the wrong type (string instead of bigint). */
        public VectorSchemaRoot wrongType(VectorSchemaRoot in) {
            int n = in.getRowCount();
            VarCharVector out = new VarCharVector("doubled", allocator);
            out.allocateNew(n);
            for (int i = 0; i < n; i++) {
                out.setSafe(i, "x".getBytes(StandardCharsets.UTF_8));
            }
            out.setValueCount(n);
            return VectorSchemaRoot.of(out);
        }

        /** Fails on the row whose id is 13. */
        public VectorSchemaRoot failOn13(VectorSchemaRoot in) {
            BigIntVector id = (BigIntVector) in.getVector("id");
            for (int i = 0; i < in.getRowCount(); i++) {
                if (id.get(i) == 13) {
                    throw new IllegalArgumentException("row id=13 is poisoned");
                }
            }
            return doubled(in);
        }
    }

    /** Takes a while to build, like a model load; counts nothing itself (the metrics do). */
    public static final class SlowLoader {
        private final Doubler inner;

        public SlowLoader(ActorEnv env) throws InterruptedException {
            long ms = Long.parseLong(env.properties().getOrDefault("loadMillis", "0"));
            Thread.sleep(ms);
            inner = new Doubler(env);
        }

        public VectorSchemaRoot doubled(VectorSchemaRoot in) throws InterruptedException {
            return inner.doubled(in);
        }

        /** Sleeps per batch ("batchMillis" property is read at construction). */
        public VectorSchemaRoot slowDoubled(VectorSchemaRoot in) throws InterruptedException {
            Thread.sleep(50);
            return inner.doubled(in);
        }
    }

    /** A constructor that always throws. */
    public static final class Broken {
        public Broken() {
            throw new IllegalStateException("model weights are corrupt (test)");
        }

        public VectorSchemaRoot run(VectorSchemaRoot in) {
            return in;
        }
    }

    /** Returns the first line of its "model" artifact for every row, as column "model". */
    public static final class ArtifactReader {
        private final BufferAllocator allocator;
        private final byte[] firstLine;

        public ArtifactReader(ActorEnv env) throws java.io.IOException {
            this.allocator = env.allocator();
            Path p = env.artifact("model");
            Path f = Files.isDirectory(p) ? p.resolve("config.txt") : p;
            this.firstLine = Files.readAllLines(f).get(0).getBytes(StandardCharsets.UTF_8);
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
