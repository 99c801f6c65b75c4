package io.stoker.spark.batch;

import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.connector.read.InputPartition;
import org.apache.spark.sql.connector.read.PartitionReader;
import org.apache.spark.sql.connector.read.PartitionReaderFactory;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;

import java.io.IOException;
import java.io.UncheckedIOException;

/** Opens a {@link RequestPartitionReader} per split, on the executors. */
final class RequestReaderFactory implements PartitionReaderFactory {
    private static final long serialVersionUID = 1L;

    private final StructType readSchema;
    private final int maxLineBytes;
    private final SerializableConfiguration conf;

    RequestReaderFactory(StructType readSchema, int maxLineBytes, SerializableConfiguration conf) {
        this.readSchema = readSchema;
        this.maxLineBytes = maxLineBytes;
        this.conf = conf;
    }

    @Override
    public PartitionReader<InternalRow> createReader(InputPartition partition) {
        LineSplit split = (LineSplit) partition;
        try {
            return new RequestPartitionReader(split, SplitPlanner.reader(split, maxLineBytes, conf.value()), readSchema,
                    maxLineBytes);
        } catch (IOException e) {
            throw new UncheckedIOException("format(\"openai-batch\"): cannot open " + split.file() + ": "
                    + e.getMessage(), e);
        }
    }
}
