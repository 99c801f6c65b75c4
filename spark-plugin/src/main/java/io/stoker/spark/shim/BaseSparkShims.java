package io.stoker.spark.shim;

import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.execution.arrow.ArrowWriter;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.ArrowUtils;


/**
 * The internal calls whose signatures are the same in every Spark line Stoker supports (checked with javap
 * against 4.0.4 and 4.2.0: ArrowWriter.create(root)/write/finish/reset, ArrowUtils.toArrowSchema(schema, tz,
 * errorOnDuplicatedFieldNames, largeVarTypes), classic.Dataset.queryExecution, classic.SparkSession
 * .internalCreateDataFrame(rdd, schema, isStreaming)). The per-line subclasses
 * declare which versions they serve and override what differs.
 */
public abstract class BaseSparkShims implements SparkShims {
    @Override
    public RDD<InternalRow> internalRows(Dataset<Row> df) {
        return ((org.apache.spark.sql.classic.Dataset<Row>) df).queryExecution().toRdd();
    }

    @Override
    public Dataset<Row> createDataFrame(SparkSession spark, RDD<InternalRow> rows, StructType schema) {
        return ((org.apache.spark.sql.classic.SparkSession) spark).internalCreateDataFrame(rows, schema, false);
    }

    @Override
    public Schema toArrowSchema(StructType schema, String timeZoneId) {
        return ArrowUtils.toArrowSchema(schema, timeZoneId, true, false);
    }

    @Override
    public StructType fromArrowSchema(Schema schema) {
        return ArrowUtils.fromArrowSchema(schema);
    }

    @Override
    public ArrowRowWriter newRowWriter(VectorSchemaRoot root) {
        ArrowWriter w = ArrowWriter.create(root);
        return new ArrowRowWriter() {
            @Override
            public void write(InternalRow row) {
                w.write(row);
            }

            @Override
            public void finish() {
                w.finish();
            }

            @Override
            public void reset() {
                w.reset();
            }
        };
    }
}
