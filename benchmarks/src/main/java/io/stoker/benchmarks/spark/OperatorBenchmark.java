package io.stoker.benchmarks.spark;

import io.stoker.spark.Stoker;
import io.stoker.spark.StokerSparkPlugin;
import io.stoker.spark.graph.GraphSpec;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The cost of Stoker's operator itself: a DataFrame through an identity graph (rows to Arrow batches, a hop through
 * an actor, Arrow back to rows) against Spark's plain {@code mapPartitions} identity (rows to {@link Row} objects
 * and back), and against no transformation at all. Input: a cached DataFrame of {@link #rows} rows (bigint, bigint,
 * double, string) in 4 partitions; sink: Spark's {@code noop} writer, which consumes every row and column.
 * Result per mode: seconds per job; rows/s = rows / that.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class OperatorBenchmark {
    @Param({"none", "mapPartitions", "stoker"})
    public String mode;

    @Param({"1000000"})
    public long rows;

    @Param({"4096"})
    public int batchRows;

    @Param({"local[2]"})
    public String master;

    private SparkSession spark;
    private Dataset<Row> input;

    @Setup(Level.Trial)
    public void start() {
        spark = SparkSession.builder().master(master).appName("OperatorBenchmark")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.warehouse.dir",
                        Path.of(System.getProperty("java.io.tmpdir"), "stoker-bench-warehouse").toString())
                .config("spark.plugins", StokerSparkPlugin.class.getName())
                .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        input = spark.range(0, rows, 1, 4)
                .selectExpr("id", "id * 3 AS x", "CAST(id AS DOUBLE) / 7 AS d", "concat('row-', id) AS s")
                .persist(StorageLevel.MEMORY_ONLY());
        input.write().format("noop").mode("overwrite").save();
    }

    @TearDown(Level.Trial)
    public void stop() {
        spark.stop();
    }

    /** One job over every row, in the mode's way. */
    @Benchmark
    public void job() {
        Dataset<Row> out = switch (mode) {
            case "none" -> input;
            case "mapPartitions" -> input.mapPartitions((MapPartitionsFunction<Row, Row>) it -> it,
                    Encoders.row(input.schema()));
            case "stoker" -> input.transform(Stoker.mapBatches(GraphSpec.identity(), input.schema()).dropInput()
                    .batchRows(batchRows));
            default -> throw new IllegalArgumentException("mode " + mode);
        };
        out.write().format("noop").mode("overwrite").save();
    }
}
