package io.stoker.spark.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.ForeachPartitionFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;

import java.util.List;

import static org.apache.spark.sql.functions.col;

/**
 * Takes over an earlier output file when a batch is rerun with the same {@code -o}: its lines become the base parts
 * of the new work directory, keyed by the input line of their custom_id (a Spark join, which spills, so the file may
 * be any size). Answers of the earlier output are then kept byte for byte; its errors are retried.
 */
final class EarlierOutput {
    private static final StructType PARSED = new StructType()
            .add("custom_id", DataTypes.StringType).add("ok", DataTypes.BooleanType)
            .add("valid", DataTypes.BooleanType);

    private EarlierOutput() {
    }

    /**
     * @throws IllegalStateException when a line is not an OpenAI batch output line, or answers a custom_id the input
     *                               does not have (the output of another input)
     */
    static void importInto(SparkSession spark, Dataset<Row> requests, Path output, Path baseDir,
                           SerializableConfiguration conf) {
        UserDefinedFunction parse = org.apache.spark.sql.functions.udf((UDF1<String, Row>) EarlierOutput::parse,
                PARSED);
        Dataset<Row> old = spark.read().text(output.toString()).filter("trim(value) != ''")
                .select(col("value"), parse.apply(col("value")).as("p"))
                .select(col("value"), col("p.custom_id").as("custom_id"), col("p.ok").as("ok"),
                        col("p.valid").as("valid"));
        List<Row> bad = old.filter("NOT valid").select("value").limit(1).collectAsList();
        if (!bad.isEmpty()) {
            String v = bad.get(0).getString(0);
            throw new IllegalStateException(output + " has a line that is not an OpenAI batch output line ("
                    + (v.length() > 100 ? v.substring(0, 100) + "..." : v) + "), so it cannot be resumed; pass"
                    + " --overwrite to replace it, or choose another output");
        }
        Dataset<Row> joined = old.join(requests.filter("custom_id IS NOT NULL").select("custom_id", "file", "line"),
                scala.jdk.javaapi.CollectionConverters.asScala(List.of("custom_id")).toSeq(), "left");
        List<Row> foreign = joined.filter("line IS NULL").select("custom_id").limit(3).collectAsList();
        if (!foreign.isEmpty()) {
            throw new IllegalStateException(output + " answers custom_ids the input does not have (e.g. '"
                    + foreign.get(0).getString(0) + "'): is it the output of another input? Pass --overwrite to"
                    + " replace it, or choose another output");
        }
        String dir = baseDir.toString();
        Dataset<Row> keyed = joined.filter("line IS NOT NULL").select("file", "line", "ok", "value")
                .sortWithinPartitions("file", "line");
        spark.sparkContext().setJobDescription("stoker batch: take over the answers of " + output);
        try {
            keyed.foreachPartition((ForeachPartitionFunction<Row>) rows -> {
                TaskContext task = TaskContext.get();
                Path base = new Path(dir);
                FileSystem fs = OutputFs.of(base, conf.value());
                PartWriter w = new PartWriter(fs, base, String.format("part-%05d-%d", task.partitionId(),
                        task.taskAttemptId()), 100_000, Long.MAX_VALUE);
                try {
                    while (rows.hasNext()) {
                        Row r = rows.next();
                        w.write(r.getString(0), r.getLong(1), r.getBoolean(2), r.getString(3));
                    }
                    w.close();
                } catch (RuntimeException | java.io.IOException e) {
                    w.abort();
                    throw e;
                }
            });
        } finally {
            spark.sparkContext().setJobDescription(null);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** @return (custom_id, answered with status 200, is an output line) */
    static Row parse(String line) {
        try {
            JsonNode o = JSON.readTree(line);
            JsonNode id = o == null ? null : o.get("custom_id");
            if (id == null || !id.isTextual() || !o.has("response")) {
                return RowFactory.create(null, false, false);
            }
            JsonNode response = o.get("response");
            JsonNode error = o.get("error");
            boolean ok = (error == null || error.isNull()) && response != null && response.isObject()
                    && response.path("status_code").asInt() == 200;
            return RowFactory.create(id.asText(), ok, true);
        } catch (java.io.IOException e) {
            return RowFactory.create(null, false, false);
        }
    }
}
