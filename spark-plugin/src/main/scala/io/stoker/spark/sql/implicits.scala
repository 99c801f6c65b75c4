package io.stoker.spark.sql

import io.stoker.spark.graph.GraphSpec
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType

/**
 * Scala sugar for the Stoker operator:
 * {{{
 * import io.stoker.spark.sql.implicits._
 * val scored = df.mapBatches(spec, outputSchema, batchRows = 1024)
 * }}}
 * Works on any Dataset (typed ones are viewed as DataFrames). Same semantics as `df.transform(Stoker.mapBatches(spec, outputSchema))` (see [[MapBatches]]).
 */
object implicits {
  implicit class StokerDatasetOps[T](private val ds: Dataset[T]) extends AnyVal {
    /**
     * @param spec         graph each executor compiles once and feeds with Arrow batches of the partitions
     * @param outputSchema schema of the graph's output batches
     * @param batchRows    rows per batch; 0 means spark.stoker.batch.rows
     * @param drop         input columns to leave out of the result
     * @param dropInput    leave every input column out (the graph may then change the row count)
     */
    def mapBatches(spec: GraphSpec, outputSchema: StructType, batchRows: Int = 0, drop: Seq[String] = Nil,
                   dropInput: Boolean = false): DataFrame = {
      var op = new MapBatches(spec, outputSchema)
      if (batchRows > 0) op = op.batchRows(batchRows)
      if (drop.nonEmpty) op = op.drop(drop: _*)
      if (dropInput) op = op.dropInput()
      ds.toDF().transform(op)
    }
  }
}
