package io.stoker.spark.batch;

import io.stoker.spark.llm.LlmProgress;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.apache.spark.util.SerializableConfiguration;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

/**
 * Runs an OpenAI Batch input file through Spark into ONE output file in input order, resumably: the engine of
 * {@code bin/stoker batch} (a distributed {@code vllm run-batch}).
 *
 * <ol>
 *   <li>The work directory next to the output ({@link WorkDir}) is created, or checked when it exists: it belongs to
 *   the same input. When an earlier output exists without one, its lines are taken over as the base
 *   ({@link EarlierOutput}).</li>
 *   <li>The lines already answered with status 200 (in the base or in committed parts of earlier runs) are skipped;
 *   the rest (errors included, so they are retried) are read ({@code format("openai-batch")}), answered
 *   ({@link LocalEngineRequests}) and written as parts that commit every {@code commitRows} rows
 *   ({@link PartsJob}).</li>
 *   <li>All parts are merged into the output ({@link OutputFile}): per input line one output line, an answer before
 *   an error, the newest run first. Then the work directory is deleted.</li>
 * </ol>
 *
 * A run killed at any point loses no committed answer and writes none twice: rerun it with the same arguments.
 */
public final class BatchRun {
    private static final Logger LOG = LoggerFactory.getLogger(BatchRun.class);

    private BatchRun() {
    }

    /**
     * @param progress receives a progress line every few seconds while rows are answered (null: none)
     * @throws DuplicateCustomIdException when custom_ids repeat, naming their lines
     * @throws IllegalStateException      when the output or work directory belongs to another input
     */
    public static BatchSummary run(SparkSession spark, BatchSpec spec, Consumer<String> progress) {
        long t0 = System.nanoTime();
        Configuration hadoop = new Configuration(spark.sparkContext().hadoopConfiguration());
        SerializableConfiguration conf = new SerializableConfiguration(hadoop);
        try {
            Path inPath = new Path(spec.input());
            FileSystem inFs = inPath.getFileSystem(hadoop);
            if (!inFs.exists(inPath)) {
                throw new IllegalArgumentException("stoker batch: no input file " + spec.input());
            }
            FileStatus in = inFs.getFileStatus(inFs.makeQualified(inPath));
            if (!in.isFile()) {
                throw new IllegalArgumentException("stoker batch: the input " + spec.input() + " is a directory; give"
                        + " one JSONL request file (or use spark.read.format(\"openai-batch\") for directories)");
            }
            Path outPath = new Path(spec.output());
            FileSystem fs = OutputFs.of(outPath, hadoop);
            Path out = fs.makeQualified(outPath);
            if (fs.exists(out) && fs.getFileStatus(out).isDirectory()) {
                throw new IllegalArgumentException("stoker batch: the output " + out + " is a directory; -o names one"
                        + " JSONL file");
            }
            if (out.equals(in.getPath())) {
                throw new IllegalArgumentException("stoker batch: the output is the input file " + out);
            }
            WorkDir work = new WorkDir(fs, out);
            if (spec.overwrite()) {
                work.delete();
                fs.delete(out, false);
            }
            int partitions = spec.minPartitions() > 0 ? spec.minPartitions()
                    : 2 * spark.sparkContext().defaultParallelism();
            Dataset<Row> requests = spark.read().format(OpenAiBatchSource.SHORT_NAME)
                    .option("maxLineBytes", spec.maxLineBytes()).option("minPartitions", partitions)
                    .load(in.getPath().toString());
            long total = requests.count(); // plans the read: line numbers, duplicate custom_ids (fails here)
            WorkDir.Fingerprint fingerprint = WorkDir.Fingerprint.of(in);
            if (work.exists() && !work.belongsTo(fingerprint) && work.parts().isEmpty()) {
                LOG.info("{} belongs to another input but holds no answers; starting over", work.path());
                work.delete();
            }
            if (work.exists()) {
                work.requireInput(fingerprint);
                LOG.info("resuming from {}", work.path());
            } else {
                Path init = work.beginInit(fingerprint);
                if (fs.exists(out)) {
                    LOG.info("taking over the answers of the earlier output {}", out);
                    EarlierOutput.importInto(spark, requests, out, new Path(init, "base"), conf);
                }
                work.commitInit();
            }
            List<PartMeta> earlier = work.parts();
            List<long[]> okRanges = new ArrayList<>();
            for (PartMeta m : earlier) {
                okRanges.add(m.okRanges());
            }
            LineRanges done = LineRanges.union(okRanges);
            Dataset<Row> todo = requests;
            if (done.size() > 0) {
                todo = requests.filter(udf((UDF1<Long, Boolean>) line -> !done.contains(line), DataTypes.BooleanType)
                        .apply(col(RequestSchema.LINE)));
            }
            Dataset<Row> classified = LocalEngineRequests.classify(todo, spec.servedModels(), spec.localEngine());
            long[] perBranch = new long[3];
            for (Row r : classified.groupBy(LocalEngineRequests.BRANCH).count().collectAsList()) {
                perBranch[r.getInt(0)] = r.getLong(1);
            }
            long ranNow = perBranch[0] + perBranch[1] + perBranch[2];
            LOG.info("{} request lines: {} answered by an earlier run; now {} chat, {} completions, {} refused", total,
                    done.size(), perBranch[0], perBranch[1], perBranch[2]);
            if (ranNow > 0) {
                Path run = work.nextRun();
                PartsJob.Settings settings = new PartsJob.Settings(spec.servedModels().get(0),
                        UUID.randomUUID().toString(), spec.commitRows(), spec.commitMillis());
                long toModel = perBranch[LocalEngineRequests.CHAT] + perBranch[LocalEngineRequests.COMPLETIONS];
                LlmProgress p = progress == null || toModel == 0 ? null : LlmProgress.start(spark, toModel,
                        progress::accept, 2000);
                try {
                    for (int b = 0; b < perBranch.length; b++) {
                        if (perBranch[b] > 0) {
                            PartsJob.write(LocalEngineRequests.answer(classified, b, spec.llm(), spec.servedModels(),
                                    spec.localEngine()),
                                    run, conf, settings, "stoker batch: " + in.getPath().getName() + " -> "
                                            + out.getName());
                        }
                    }
                } finally {
                    if (p != null) {
                        p.close();
                    }
                }
            }
            PartsMerger.Result merged = OutputFile.write(fs, out, work.parts(), false);
            work.delete();
            return new BatchSummary(out.toString(), merged.lines(), merged.ok(), done.size(), ranNow,
                    (System.nanoTime() - t0) / 1e9, peakHeap());
        } catch (IOException e) {
            throw new UncheckedIOException("stoker batch: " + e.getMessage(), e);
        }
    }

    /** @return the sum of the heap pools' peak use since the JVM started */
    static long peakHeap() {
        long peak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
                peak += pool.getPeakUsage().getUsed();
            }
        }
        return peak;
    }
}
