package io.stoker.spark.batch;

/**
 * What a batch run did.
 *
 * @param lines        output lines (one per request line of the input)
 * @param ok           of which answered with status 200
 * @param fromEarlier  answers kept from an earlier (interrupted or finished) run
 * @param ranNow       request lines this run sent through Spark
 * @param seconds      wall time of the run
 * @param peakHeapBytes the JVM's peak heap use (all heap pools' peaks added; in local mode this includes the executor)
 */
public record BatchSummary(String output, long lines, long ok, long fromEarlier, long ranNow, double seconds,
                           long peakHeapBytes) {
    public long errors() {
        return lines - ok;
    }

    /** @return request lines run per second by this run */
    public double rowsPerSecond() {
        return seconds > 0 ? ranNow / seconds : 0;
    }

    @Override
    public String toString() {
        return String.format("stoker batch: wrote %d lines to %s (%d answered, %d errors; %d kept from an earlier"
                        + " run, %d run now) in %.1f s, %.1f requests/s, peak heap %d MiB", lines, output, ok,
                errors(), fromEarlier, ranNow, seconds, rowsPerSecond(), peakHeapBytes >> 20);
    }

    public String toJson() {
        return String.format(java.util.Locale.ROOT, "{\"output\": \"%s\", \"lines\": %d, \"ok\": %d, \"errors\": %d,"
                        + " \"from_earlier\": %d, \"ran_now\": %d, \"seconds\": %.3f, \"requests_per_second\": %.2f,"
                        + " \"peak_heap_bytes\": %d}", output.replace("\\", "\\\\").replace("\"", "\\\""), lines, ok,
                errors(), fromEarlier, ranNow, seconds, rowsPerSecond(), peakHeapBytes);
    }
}
