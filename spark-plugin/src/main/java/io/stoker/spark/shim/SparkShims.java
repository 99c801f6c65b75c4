package io.stoker.spark.shim;

import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.StructType;


/**
 * Every call Stoker makes into Spark's internal (private[sql], unstable) API. One implementation per Spark line,
 * in {@code src/main/spark40} and {@code src/main/spark42}, registered with {@link java.util.ServiceLoader} and
 * picked by {@link ShimLoader} for the running Spark version. Code outside this package uses only Spark's public
 * API plus this interface.
 *
 * <p>Thread-safety: implementations are stateless; the objects they return are single-threaded.
 */
public interface SparkShims {
    /** @return true when this implementation serves the given Spark version (e.g. "4.0.4") */
    boolean supports(String sparkVersion);

    /** @return the Spark line this implementation was built for, e.g. "4.0" */
    String line();

    /** @return the DataFrame's rows as Spark's internal rows, without conversion to {@link Row} */
    RDD<InternalRow> internalRows(Dataset<Row> df);

    /** @return a DataFrame over internal rows that match {@code schema} */
    Dataset<Row> createDataFrame(SparkSession spark, RDD<InternalRow> rows, StructType schema);

    /** @return the Arrow schema Spark uses for {@code schema} (timestamps in {@code timeZoneId}) */
    Schema toArrowSchema(StructType schema, String timeZoneId);

    /** @return the Spark schema of an Arrow schema */
    StructType fromArrowSchema(Schema schema);

    /** @return a writer that appends internal rows to the vectors of {@code root} */
    ArrowRowWriter newRowWriter(VectorSchemaRoot root);
}
