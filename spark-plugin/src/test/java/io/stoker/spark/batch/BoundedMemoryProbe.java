package io.stoker.spark.batch;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Child-JVM main for {@link BoundedMemoryTest}: reads a request file through the data source's readers (split into
 * ranges, line numbers counted), formats every row as an output line into committed parts, and merges the parts into
 * one output file, all without Spark, then prints {@code rows errors peakHeapBytes}. Run with a small -Xmx.
 */
public final class BoundedMemoryProbe {
    private BoundedMemoryProbe() {
    }

    public static void main(String[] args) throws IOException {
        String in = args[0];
        String out = args[1];
        int maxLineBytes = Integer.parseInt(args[2]);
        long splitBytes = Long.parseLong(args[3]);
        Configuration conf = new Configuration();
        SerializableConfiguration hc = new SerializableConfiguration(conf);
        ReadOptions options = new ReadOptions(List.of(in), maxLineBytes, splitBytes, 1, false, 0);
        List<LineSplit> splits = SplitPlanner.numbered(SplitPlanner.cut(SplitPlanner.listFiles(options.paths(), conf),
                options, hc), ranges -> {
                    List<Long> counts = new ArrayList<>();
                    for (LineSplit r : ranges) {
                        try {
                            counts.add(SplitPlanner.countLineBreaks(r.file(), r.start(), r.end(), conf));
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }
                    return counts;
                });
        StructType results = new StructType().add("custom_id", DataTypes.StringType).add("url", DataTypes.StringType)
                .add("file", DataTypes.StringType).add("line", DataTypes.LongType)
                .add("line_error", DataTypes.StringType).add("body_error", DataTypes.StringType)
                .add("generated_text", DataTypes.StringType).add("finish_reason", DataTypes.StringType)
                .add("num_input_tokens", DataTypes.IntegerType).add("num_generated_tokens", DataTypes.IntegerType)
                .add("error", DataTypes.StringType);
        ResponseFormatter formatter = new ResponseFormatter(ResultColumns.of(results), "probe", "seed");
        Path outPath = new Path(out);
        FileSystem fs = OutputFs.of(outPath, conf);
        Path run = new Path(outPath.getParent(), outPath.getName() + ".parts");
        long rows = 0;
        long errors = 0;
        int task = 0;
        for (LineSplit s : splits) {
            PartWriter parts = new PartWriter(fs, run, "part-" + task++, 1000, Long.MAX_VALUE);
            RequestReaderFactory factory = new RequestReaderFactory(RequestSchema.SCHEMA, maxLineBytes, hc);
            try (var reader = factory.createReader(s)) {
                while (reader.next()) {
                    InternalRow r = reader.get();
                    String lineError = r.isNullAt(11) ? null : r.getUTF8String(11).toString();
                    String custom = r.isNullAt(0) ? null : r.getUTF8String(0).toString();
                    String prompt = r.isNullAt(4) ? null : r.getArray(4).getStruct(0, 2).getUTF8String(1).toString();
                    errors += lineError != null ? 1 : 0;
                    Object[] v = {custom, RequestSchema.CHAT_URL, s.file(), r.getLong(10), lineError, null,
                            prompt == null ? null : prompt.substring(0, Math.min(500, prompt.length())), "stop", 7, 3,
                            null};
                    ResponseFormatter.Formatted f = formatter.format(new GenericRowWithSchema(v, results));
                    parts.write(s.file(), r.getLong(10), f.ok(), f.json());
                    rows++;
                }
            }
            parts.close();
        }
        PartsMerger.Result merged = OutputFile.write(fs, outPath, PartsJob.committed(fs, run, 1), false);
        fs.delete(run, true);
        System.out.println(rows + " " + errors + " " + merged.lines() + " " + BatchRun.peakHeap());
    }
}
