package io.stoker.spark.batch;

import org.apache.spark.sql.connector.read.Batch;
import org.apache.spark.sql.connector.read.InputPartition;
import org.apache.spark.sql.connector.read.PartitionReaderFactory;
import org.apache.spark.sql.connector.read.Scan;
import org.apache.spark.sql.connector.read.ScanBuilder;
import org.apache.spark.sql.connector.read.SupportsPushDownRequiredColumns;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Scan builder, scan and batch of request files in one (the shape of Spark's simplest DSv2 source). Prunes top-level
 * columns: a query that reads only {@code file} and {@code line} (e.g. a count) never parses JSON.
 */
final class RequestScan implements ScanBuilder, SupportsPushDownRequiredColumns, Scan, Batch {
    private final RequestTable table;
    private final ReadOptions options;
    private StructType readSchema = RequestSchema.SCHEMA;

    RequestScan(RequestTable table, ReadOptions options) {
        this.table = table;
        this.options = options;
    }

    @Override
    public void pruneColumns(StructType required) {
        Set<String> names = Stream.of(required.fieldNames()).collect(Collectors.toSet());
        List<StructField> keep = new ArrayList<>();
        for (StructField f : RequestSchema.SCHEMA.fields()) {
            if (names.contains(f.name())) {
                keep.add(f);
            }
        }
        readSchema = new StructType(keep.toArray(new StructField[0]));
    }

    @Override
    public Scan build() {
        return this;
    }

    @Override
    public StructType readSchema() {
        return readSchema;
    }

    @Override
    public String description() {
        return "OpenAiBatchScan " + options.paths() + " maxLineBytes=" + options.maxLineBytes();
    }

    @Override
    public Batch toBatch() {
        return this;
    }

    @Override
    public InputPartition[] planInputPartitions() {
        return table.splits(options).toArray(new InputPartition[0]);
    }

    @Override
    public PartitionReaderFactory createReaderFactory() {
        table.splits(options);
        return new RequestReaderFactory(readSchema, options.maxLineBytes(), table.conf());
    }
}
