package io.stoker.spark.batch;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.connector.catalog.SupportsRead;
import org.apache.spark.sql.connector.catalog.TableCapability;
import org.apache.spark.sql.connector.read.ScanBuilder;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;
import org.apache.spark.util.SerializableConfiguration;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The request files of one {@code spark.read.format("openai-batch").load(...)}: read-only (writes go through
 * {@link OpenAiBatchSource#createRelation}). The options are parsed when a scan is built, not here, because Spark also
 * asks for the table while writing, with write options.
 *
 * <p>The files' splits, their line numbers and the duplicate check are computed once per table (so once per
 * {@code load()}, however many queries and branches read it) and again only when a file's length or modification time
 * changes.
 */
final class RequestTable implements SupportsRead {
    private final Map<String, String> properties;
    private Planned planned;

    /** Splits computed for these file states. */
    private record Planned(ReadOptions options, List<String> state, List<LineSplit> splits,
                           SerializableConfiguration conf) {
    }

    RequestTable(Map<String, String> properties) {
        this.properties = Map.copyOf(properties);
    }

    @Override
    public String name() {
        return "openai-batch " + properties.getOrDefault("path", properties.getOrDefault("paths", ""));
    }

    @Override
    @SuppressWarnings("deprecation") // columns() derives from schema() in every Spark line Stoker builds for
    public StructType schema() {
        return RequestSchema.SCHEMA;
    }

    @Override
    public Set<TableCapability> capabilities() {
        return Set.of(TableCapability.BATCH_READ);
    }

    @Override
    public ScanBuilder newScanBuilder(CaseInsensitiveStringMap options) {
        return new RequestScan(this, options());
    }

    ReadOptions options() {
        SparkSession spark = SparkSession.active();
        long maxPartitionBytes = org.apache.spark.network.util.JavaUtils.byteStringAsBytes(
                spark.conf().get("spark.sql.files.maxPartitionBytes", "128m"));
        return ReadOptions.parse(properties, maxPartitionBytes);
    }

    /** @return the splits to read, planned (and checked for duplicate custom_ids) on first use */
    synchronized List<LineSplit> splits(ReadOptions options) {
        SparkSession spark = SparkSession.active();
        Configuration hadoop = new Configuration(spark.sparkContext().hadoopConfiguration());
        List<SplitPlanner.InputFile> files = SplitPlanner.listFiles(options.paths(), hadoop);
        List<String> state = new ArrayList<>();
        for (SplitPlanner.InputFile f : files) {
            FileStatus s = f.status();
            state.add(s.getPath() + "@" + s.getLen() + "@" + s.getModificationTime());
        }
        if (planned == null || !planned.options().equals(options) || !planned.state().equals(state)) {
            SerializableConfiguration conf = new SerializableConfiguration(hadoop);
            List<LineSplit> splits = SplitPlanner.plan(spark, files, options, conf);
            if (options.checkDuplicates()) {
                DuplicateCheck.check(spark, splits, options.maxLineBytes(), conf,
                        SplitPlanner.totalBytes(files) <= options.driverScanBytes());
            }
            planned = new Planned(options, state, splits, conf);
        }
        return planned.splits();
    }

    synchronized SerializableConfiguration conf() {
        return planned.conf();
    }
}
