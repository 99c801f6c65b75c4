package io.stoker.spark;

import io.stoker.spark.graph.GraphSpec;
import io.stoker.spark.plugin.DriverState;
import io.stoker.spark.plugin.ExecutorReport;
import io.stoker.spark.sql.MapBatches;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

import java.util.Map;

/**
 * Stoker's Java API for Spark.
 *
 * <pre>{@code
 * Dataset<Row> scored = df.transform(Stoker.mapBatches(spec, outputSchema).batchRows(1024));
 * }</pre>
 */
public final class Stoker {
    private Stoker() {
    }

    /**
     * @param spec         the graph each executor compiles once and feeds with the partitions' Arrow batches
     * @param outputSchema the schema of the graph's output batches (appended to the kept input columns)
     * @return a transformation for {@code Dataset.transform}
     */
    public static MapBatches mapBatches(GraphSpec spec, StructType outputSchema) {
        return new MapBatches(spec, outputSchema);
    }

    /**
     * LLM batch inference over a DataFrame: {@code df.transform(Stoker.llm(Llm.model("demo")).prompt(col("q")))}.
     *
     * @param llm the model and options (validated on the driver when the transformation is applied)
     * @return a transformation for {@code Dataset.transform}; give it a prompt or messages column
     */
    public static io.stoker.spark.llm.LlmMap llm(io.stoker.spark.llm.Llm llm) {
        return new io.stoker.spark.llm.LlmMap(llm);
    }

    /**
     * @return the latest report of each executor that has run Stoker in this application, by executor id (empty
     * until executors report; includes executors that have since exited)
     * @throws IllegalStateException when Stoker's plugin does not run in this application
     */
    public static Map<String, ExecutorReport> executorReports(SparkSession spark) {
        return DriverState.require(spark.sparkContext(), "Stoker.executorReports").reports();
    }
}
