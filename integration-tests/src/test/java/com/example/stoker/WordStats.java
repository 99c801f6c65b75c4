package com.example.stoker;

import io.stoker.spark.Stoker;
import io.stoker.spark.actor.ActorEnv;
import io.stoker.spark.actor.ActorPoolSpec;
import io.stoker.spark.graph.GraphSpec;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/** Counts the words of each line and the length of its longest word, in two actor steps on every executor. */
public final class WordStats {
    /** Step 1: gets the partition's Arrow batch; returns plain Java arrays to the next step. */
    public static final class Splitter {
        public String[][] split(VectorSchemaRoot batch) {
            VarCharVector text = (VarCharVector) batch.getVector("text");
            String[][] words = new String[batch.getRowCount()][];
            for (int i = 0; i < words.length; i++) {
                String line = text.isNull(i) ? "" : new String(text.get(i), StandardCharsets.UTF_8).trim();
                words[i] = line.isEmpty() ? new String[0] : line.split("\\s+");
            }
            return words;
        }
    }

    /** Step 2 (the output step): builds the output batch from the allocator Stoker gives this actor. */
    public static final class Counter {
        private final BufferAllocator allocator;

        public Counter(ActorEnv env) {
            this.allocator = env.allocator();
        }

        public VectorSchemaRoot count(String[][] words) {
            IntVector count = new IntVector("words", allocator);
            IntVector longest = new IntVector("longest", allocator);
            count.allocateNew(words.length);
            longest.allocateNew(words.length);
            for (int i = 0; i < words.length; i++) {
                count.set(i, words[i].length);
                longest.set(i, Arrays.stream(words[i]).mapToInt(String::length).max().orElse(0));
            }
            count.setValueCount(words.length);
            longest.setValueCount(words.length);
            return VectorSchemaRoot.of(count, longest);
        }
    }

    public static void main(String[] args) {
        SparkSession spark = SparkSession.builder().appName("word-stats").getOrCreate();
        try {
            List<String> lines = args.length > 0 ? Arrays.asList(args)
                    : List.of("the quick brown fox", "jumps over", "the lazy dog");
            Dataset<Row> text = spark.createDataset(lines, Encoders.STRING()).toDF("text");

            GraphSpec spec = GraphSpec.builder("word-stats")
                    .pool(ActorPoolSpec.ofClass("splitter", Splitter.class).withCount(1))
                    .pool(ActorPoolSpec.ofClass("counter", Counter.class))
                    .actor("words", "splitter", "split", GraphSpec.INPUT)
                    .actor("stats", "counter", "count", "words")
                    .build();
            StructType output = new StructType()
                    .add("words", DataTypes.IntegerType)
                    .add("longest", DataTypes.IntegerType);

            Dataset<Row> stats = text.transform(Stoker.mapBatches(spec, output).batchRows(1024));
            for (Row r : stats.orderBy("text").collectAsList()) {
                System.out.println(r.getString(0) + " | words=" + r.getInt(1) + " longest=" + r.getInt(2));
            }
        } finally {
            spark.stop();
        }
    }
}
