package io.stoker.spark.batch;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SQLContext;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.connector.catalog.Table;
import org.apache.spark.sql.connector.catalog.TableProvider;
import org.apache.spark.sql.connector.expressions.Transform;
import org.apache.spark.sql.sources.BaseRelation;
import org.apache.spark.sql.sources.CreatableRelationProvider;
import org.apache.spark.sql.sources.DataSourceRegister;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

import java.util.Map;

/**
 * The {@code openai-batch} data source: OpenAI Batch files on Spark.
 *
 * <pre>{@code
 * Dataset<Row> requests = spark.read().format("openai-batch").load("hdfs:///batches/requests.jsonl");
 * Dataset<Row> results = requests.transform(Stoker.llm(Llm.model(m)).messages(col("messages"))
 *         .sampling(col("sampling")));
 * results.write().format("openai-batch").option("model", "my-model").save("hdfs:///batches/results.jsonl");
 * }</pre>
 *
 * Reading (DSv2) gives one row per request line with the columns of {@link RequestSchema}; a malformed line is a row
 * with {@code line_error} or {@code body_error} naming its file and line, and the rest of the file still reads.
 * Duplicate custom_ids fail the read with their line numbers. Options: {@link ReadOptions}.
 *
 * <p>Writing (through Spark's V1 path, since the table declares no batch write) produces ONE JSONL file of OpenAI
 * output lines, in input order: {@link ResultWriter}. Paths are Hadoop FS URIs (file:, hdfs:, s3a:, ...).
 */
public final class OpenAiBatchSource implements TableProvider, DataSourceRegister, CreatableRelationProvider {
    public static final String SHORT_NAME = "openai-batch";

    @Override
    public String shortName() {
        return SHORT_NAME;
    }

    @Override
    public StructType inferSchema(CaseInsensitiveStringMap options) {
        return RequestSchema.SCHEMA;
    }

    @Override
    public Table getTable(StructType schema, Transform[] partitioning, Map<String, String> properties) {
        return new RequestTable(properties);
    }

    @Override
    public BaseRelation createRelation(SQLContext sqlContext, SaveMode mode,
                                       scala.collection.immutable.Map<String, String> parameters, Dataset<Row> data) {
        ResultWriter.write(mode, scala.jdk.javaapi.CollectionConverters.asJava(parameters), data);
        StructType schema = data.schema();
        return new BaseRelation() {
            @Override
            public SQLContext sqlContext() {
                return sqlContext;
            }

            @Override
            public StructType schema() {
                return schema;
            }
        };
    }

    @Override
    public boolean supportsDataType(DataType dt) {
        return true;
    }
}
