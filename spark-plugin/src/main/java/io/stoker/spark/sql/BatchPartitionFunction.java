package io.stoker.spark.sql;

import io.stoker.spark.graph.GraphSpec;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.StructType;

import java.util.Iterator;

/**
 * The per-partition half of {@link MapBatches}, shipped to executors: opens a {@link BatchPipeline} over the
 * partition's rows. Immutable.
 */
final class BatchPartitionFunction implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {
    private static final long serialVersionUID = 1L;

    private final String session;
    private final Broadcast<GraphSpec> spec;
    private final StructType inputSchema;
    private final StructType outputSchema;
    private final int[] keptInput;
    private final String timeZoneId;
    private final int batchRows;

    BatchPartitionFunction(String session, Broadcast<GraphSpec> spec, StructType inputSchema, StructType outputSchema,
                           int[] keptInput, String timeZoneId, int batchRows) {
        this.session = session;
        this.spec = spec;
        this.inputSchema = inputSchema;
        this.outputSchema = outputSchema;
        this.keptInput = keptInput;
        this.timeZoneId = timeZoneId;
        this.batchRows = batchRows;
    }

    @Override
    public Iterator<InternalRow> call(Iterator<InternalRow> rows) {
        return BatchPipeline.open(session, spec.value(), rows, inputSchema, outputSchema, keptInput, timeZoneId,
                batchRows);
    }
}
