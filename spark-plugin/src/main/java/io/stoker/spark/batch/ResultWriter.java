package io.stoker.spark.batch;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.functions;
import org.apache.spark.util.SerializableConfiguration;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * {@code df.write.format("openai-batch").save("results.jsonl")}: writes llmMap results (columns:
 * {@link ResultColumns}) as ONE file of OpenAI Batch output lines, in (file, line) order when the rows have a line
 * column. Save modes: error if exists (default), overwrite, append (after the file's lines), ignore.
 *
 * <p>How: rows are sorted within their partitions by (file, line) (Spark's sort spills, so memory stays bounded),
 * each task writes committed parts into a work directory next to the output ({@link PartsJob}), and the driver merges
 * the parts into the file ({@link OutputFile}), then deletes the work directory.
 */
final class ResultWriter {
    static final List<String> OPTIONS = List.of("path", "model");

    private ResultWriter() {
    }

    static void write(SaveMode mode, Map<String, String> options, Dataset<Row> data) {
        List<String> unknown = new ArrayList<>();
        String path = null;
        String model = null;
        for (Map.Entry<String, String> e : options.entrySet()) {
            if (e.getKey().equalsIgnoreCase("path")) {
                path = e.getValue();
            } else if (e.getKey().equalsIgnoreCase("model")) {
                model = e.getValue();
            } else {
                unknown.add(e.getKey());
            }
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("format(\"openai-batch\") write options: unknown " + unknown
                    + "; the options are " + OPTIONS);
        }
        if (path == null || path.isBlank()) {
            throw new IllegalArgumentException("format(\"openai-batch\"): give the output file:"
                    + " df.write.format(\"openai-batch\").save(\"results.jsonl\")");
        }
        ResultColumns columns = ResultColumns.of(data.schema());
        Configuration hadoop = new Configuration(data.sparkSession().sparkContext().hadoopConfiguration());
        Path target = new Path(path);
        try {
            FileSystem fs = OutputFs.of(target, hadoop);
            target = fs.makeQualified(target);
            if (fs.exists(target)) {
                FileStatus st = fs.getFileStatus(target);
                if (st.isDirectory()) {
                    throw new IllegalArgumentException("format(\"openai-batch\"): " + target + " is a directory;"
                            + " the writer writes one JSONL file, give a file name");
                }
                if (mode == SaveMode.ErrorIfExists) {
                    throw new IllegalArgumentException("format(\"openai-batch\"): " + target + " already exists;"
                            + " use mode(\"overwrite\") or mode(\"append\"), or another path");
                }
                if (mode == SaveMode.Ignore) {
                    return;
                }
            }
            Dataset<Row> sorted = data;
            if (columns.line() >= 0) {
                sorted = columns.file() >= 0 ? data.sortWithinPartitions(functions.col("file"), functions.col("line"))
                        : data.sortWithinPartitions(functions.col("line"));
            }
            Path work = new Path(target.getParent(), "." + target.getName() + ".stoker-write-" + UUID.randomUUID());
            Path run = new Path(work, "run-0001");
            try {
                PartsJob.write(sorted, run, new SerializableConfiguration(hadoop), new PartsJob.Settings(model,
                        UUID.randomUUID().toString(), 100_000, Long.MAX_VALUE), "openai-batch: write " + target);
                OutputFile.write(fs, target, PartsJob.committed(fs, run, 1), mode == SaveMode.Append);
            } finally {
                fs.delete(work, true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("format(\"openai-batch\"): cannot write " + target + ": " + e.getMessage(),
                    e);
        }
    }
}
