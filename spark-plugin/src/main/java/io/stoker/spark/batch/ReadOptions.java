package io.stoker.spark.batch;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stoker.spark.config.StokerOption;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The read options of {@code format("openai-batch")}, validated on the driver. Immutable.
 *
 * @param paths             files, directories (their files, not hidden ones) or globs, as Hadoop FS URIs or paths
 * @param maxLineBytes      longest line read; a longer one becomes an error row (option {@code maxLineBytes})
 * @param maxPartitionBytes most bytes of a file one partition reads (option {@code maxPartitionBytes}; default
 *                          {@code spark.sql.files.maxPartitionBytes})
 * @param minPartitions     split files so that there are at least this many partitions (option {@code minPartitions})
 * @param checkDuplicates   refuse the input when a custom_id is on several lines (option {@code checkDuplicates})
 * @param driverScanBytes   inputs up to this size get their line numbers and duplicate check from a scan on the
 *                          driver; larger ones from Spark jobs (option {@code driverScanBytes}, default 16 MiB)
 */
public record ReadOptions(List<String> paths, int maxLineBytes, long maxPartitionBytes, int minPartitions,
                          boolean checkDuplicates, long driverScanBytes) implements Serializable {
    public static final int DEFAULT_MAX_LINE_BYTES = 8 * 1024 * 1024;
    static final long DEFAULT_DRIVER_SCAN_BYTES = 16L << 20;
    static final List<String> KEYS = List.of("path", "paths", "maxLineBytes", "maxPartitionBytes", "minPartitions",
            "checkDuplicates", "driverScanBytes");

    public ReadOptions {
        paths = List.copyOf(paths);
    }

    /**
     * @param options                  the reader's options (keys case-insensitive)
     * @param defaultMaxPartitionBytes {@code spark.sql.files.maxPartitionBytes}
     * @throws IllegalArgumentException naming every unknown option and bad value
     */
    static ReadOptions parse(Map<String, String> options, long defaultMaxPartitionBytes) {
        List<String> problems = new ArrayList<>();
        for (String k : options.keySet()) {
            if (KEYS.stream().noneMatch(known -> known.equalsIgnoreCase(k))) {
                String hint = StokerOption.closest(k, KEYS);
                problems.add("unknown option '" + k + "'" + (hint != null ? " (did you mean '" + hint + "'?)" : ""));
            }
        }
        List<String> paths = new ArrayList<>();
        String path = get(options, "path");
        if (path != null && !path.isBlank()) {
            paths.add(path);
        }
        String many = get(options, "paths");
        if (many != null && !many.isBlank()) {
            try {
                paths.addAll(new ObjectMapper().readValue(many, new TypeReference<List<String>>() { }));
            } catch (IOException e) {
                problems.add("option 'paths' must be a JSON array of strings, not " + many);
            }
        }
        if (paths.isEmpty()) {
            problems.add("no input path: use spark.read.format(\"openai-batch\").load(\"requests.jsonl\")");
        }
        long maxLine = number(options, "maxLineBytes", DEFAULT_MAX_LINE_BYTES, 16, Integer.MAX_VALUE - 16, problems);
        long maxPart = number(options, "maxPartitionBytes", defaultMaxPartitionBytes, 1, Long.MAX_VALUE, problems);
        long minParts = number(options, "minPartitions", 1, 1, 1_000_000, problems);
        long driverScan = number(options, "driverScanBytes", DEFAULT_DRIVER_SCAN_BYTES, 0, Long.MAX_VALUE, problems);
        String dup = get(options, "checkDuplicates");
        boolean check = true;
        if (dup != null) {
            if (!dup.equalsIgnoreCase("true") && !dup.equalsIgnoreCase("false")) {
                problems.add("option 'checkDuplicates' = '" + dup + "' must be true or false");
            }
            check = !dup.equalsIgnoreCase("false");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("format(\"openai-batch\") read options: " + String.join("; ", problems)
                    + "; the options are " + KEYS);
        }
        return new ReadOptions(paths, (int) maxLine, maxPart, (int) minParts, check, driverScan);
    }

    private static String get(Map<String, String> options, String key) {
        for (Map.Entry<String, String> e : options.entrySet()) {
            if (e.getKey().equalsIgnoreCase(key)) {
                return e.getValue();
            }
        }
        return null;
    }

    private static long number(Map<String, String> options, String key, long def, long min, long max,
                               List<String> problems) {
        String v = get(options, key);
        if (v == null) {
            return def;
        }
        try {
            long n = Long.parseLong(v.trim().toLowerCase(Locale.ROOT));
            if (n < min || n > max) {
                problems.add("option '" + key + "' = " + v + " must be in [" + min + ", " + max + "]");
            }
            return n;
        } catch (NumberFormatException e) {
            problems.add("option '" + key + "' = '" + v + "' is not a whole number");
            return def;
        }
    }
}
