package io.stoker.spark.batch;

import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.ForeachPartitionFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.util.SerializableConfiguration;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Writes a results DataFrame as committed parts of one run directory (a Spark job; each task formats its rows with
 * {@link ResponseFormatter} and writes them with {@link PartWriter}), and lists the parts a directory holds.
 */
final class PartsJob {
    private PartsJob() {
    }

    /** How a run writes its parts. */
    record Settings(String defaultModel, String idSeed, int commitRows, long commitMillis) implements
            java.io.Serializable {
    }

    /**
     * Runs the job. Rows are keyed by their {@code file} and {@code line} columns; without a line column by the
     * partition and the row's position in it.
     */
    static void write(Dataset<Row> results, Path runDir, SerializableConfiguration conf, Settings settings,
                      String description) {
        ResultColumns columns = ResultColumns.of(results.schema());
        String dir = runDir.toString();
        results.sparkSession().sparkContext().setJobDescription(description);
        try {
            results.foreachPartition((ForeachPartitionFunction<Row>) rows -> writePartition(rows, columns, dir, conf,
                    settings));
        } finally {
            results.sparkSession().sparkContext().setJobDescription(null);
        }
    }

    private static void writePartition(Iterator<Row> rows, ResultColumns c, String dir, SerializableConfiguration conf,
                                       Settings settings) throws IOException {
        TaskContext task = TaskContext.get();
        int partition = task == null ? 0 : task.partitionId();
        long attempt = task == null ? 0 : task.taskAttemptId();
        Path runDir = new Path(dir);
        FileSystem fs = OutputFs.of(runDir, conf.value());
        PartWriter writer = new PartWriter(fs, runDir, String.format("part-%05d-%d", partition, attempt),
                settings.commitRows(), settings.commitMillis());
        ResponseFormatter formatter = new ResponseFormatter(c, settings.defaultModel(), settings.idSeed());
        String synthetic = String.format("partition-%05d", partition);
        long seq = 0;
        try {
            while (rows.hasNext()) {
                Row row = rows.next();
                String file = c.file() >= 0 && !row.isNullAt(c.file()) ? row.getString(c.file()) : synthetic;
                long line = c.line() >= 0 && !row.isNullAt(c.line()) ? ((Number) row.get(c.line())).longValue()
                        : seq;
                seq++;
                ResponseFormatter.Formatted f = formatter.format(row);
                writer.write(file, line, f.ok(), f.json());
            }
            writer.close();
        } catch (IOException | RuntimeException | Error e) {
            writer.abort();
            throw e;
        }
    }

    /**
     * @return the committed parts of a run directory (a part file with its meta file), tagged with the generation
     */
    static List<PartMeta> committed(FileSystem fs, Path dir, int generation) throws IOException {
        List<PartMeta> out = new ArrayList<>();
        if (!fs.exists(dir)) {
            return out;
        }
        for (FileStatus s : fs.listStatus(dir)) {
            String name = s.getPath().getName();
            if (!s.isFile() || !name.endsWith(PartDescriptor.META_SUFFIX)) {
                continue;
            }
            Path part = new Path(dir, name.substring(0, name.length() - PartDescriptor.META_SUFFIX.length())
                    + PartDescriptor.PART_SUFFIX);
            if (!fs.exists(part)) {
                continue; // the task died between writing the meta and the rename: the part was never committed
            }
            byte[] bytes; // read whole now: the listed length may predate the end of its writing
            try (FSDataInputStream in = fs.open(s.getPath())) {
                bytes = in.readAllBytes();
            }
            try {
                out.add(PartMeta.parse(new String(bytes, StandardCharsets.UTF_8), part, generation));
            } catch (IOException | RuntimeException e) {
                throw new UncheckedIOException(new IOException("unreadable batch part meta file " + s.getPath()
                        + ": " + e.getMessage() + "; delete its directory " + dir + " to redo those rows", e));
            }
        }
        return out;
    }
}
