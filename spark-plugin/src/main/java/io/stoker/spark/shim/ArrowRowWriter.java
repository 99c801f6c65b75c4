package io.stoker.spark.shim;

import org.apache.spark.sql.catalyst.InternalRow;

/**
 * Appends Spark internal rows to an Arrow {@code VectorSchemaRoot} (Spark's ArrowWriter behind a shim).
 * Lifecycle per batch: {@link #write} rows, {@link #finish} (sets the row count), hand the root on, then
 * {@link #reset} before the next batch. Not thread-safe.
 */
public interface ArrowRowWriter {
    void write(InternalRow row);

    void finish();

    void reset();
}
