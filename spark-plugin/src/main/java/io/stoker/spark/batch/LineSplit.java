package io.stoker.spark.batch;

import org.apache.spark.sql.connector.read.InputPartition;

/**
 * One partition of a request file: the lines that start in {@code [start, end)} (see {@link LineReader}).
 *
 * @param file       the file's URI
 * @param start      first byte
 * @param end        end byte (exclusive); {@code Long.MAX_VALUE} for a compressed file read whole
 * @param firstLine  1-based number of the first line starting at or after {@code start}
 * @param compressed true when the file goes through a Hadoop compression codec (one split per file)
 * @param hosts      where the bytes are stored (locality hint), possibly empty
 */
record LineSplit(String file, long start, long end, long firstLine, boolean compressed, String[] hosts)
        implements InputPartition {

    @Override
    public String[] preferredLocations() {
        return hosts.clone();
    }

    @Override
    public String toString() {
        return file + "[" + start + ", " + (end == Long.MAX_VALUE ? "end" : end) + ") from line " + firstLine;
    }
}
