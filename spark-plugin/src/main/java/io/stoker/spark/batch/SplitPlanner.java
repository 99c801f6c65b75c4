package io.stoker.spark.batch;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.BlockLocation;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Lists the request files and cuts them into {@link LineSplit}s on the driver. Files larger than the split size are
 * cut into byte ranges; each range's first line number comes from a Spark job that counts the line breaks of every
 * range in parallel (a byte scan, no parsing), so no process reads a whole file. Compressed files are one split each.
 */
final class SplitPlanner {
    private SplitPlanner() {
    }

    /** A file to read: its status and whether a compression codec decodes it. */
    record InputFile(FileStatus status, boolean compressed) {
    }

    /**
     * @return the files the paths name, in path order: plain files as given, the visible files of a directory (not
     * names starting with '_' or '.'), and the matches of a glob
     * @throws IllegalArgumentException when a path matches nothing
     */
    static List<InputFile> listFiles(List<String> paths, Configuration conf) {
        Set<FileStatus> out = new LinkedHashSet<>();
        for (String p : paths) {
            Path path = new Path(p);
            try {
                FileSystem fs = path.getFileSystem(conf);
                FileStatus[] matches = fs.globStatus(path);
                if (matches == null || matches.length == 0) {
                    throw new IllegalArgumentException("format(\"openai-batch\"): no file at " + p
                            + "; give a file, a directory or a glob of JSONL request files");
                }
                Arrays.sort(matches);
                for (FileStatus s : matches) {
                    if (s.isDirectory()) {
                        FileStatus[] children = fs.listStatus(s.getPath());
                        Arrays.sort(children);
                        for (FileStatus c : children) {
                            String name = c.getPath().getName();
                            if (c.isFile() && !name.startsWith("_") && !name.startsWith(".")) {
                                out.add(c);
                            }
                        }
                    } else {
                        out.add(s);
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("format(\"openai-batch\"): cannot list " + p + ": " + e.getMessage(), e);
            }
        }
        CompressionCodecFactory codecs = new CompressionCodecFactory(conf);
        List<InputFile> files = new ArrayList<>();
        for (FileStatus s : out) {
            files.add(new InputFile(s, codecs.getCodec(s.getPath()) != null));
        }
        return files;
    }

    /** @return the splits of the files, in file then byte order, with their first line numbers */
    static List<LineSplit> plan(SparkSession spark, List<InputFile> files, ReadOptions options,
                                SerializableConfiguration conf) {
        boolean small = totalBytes(files) <= options.driverScanBytes();
        return numbered(cut(files, options, conf), ranges -> small ? countLineBreaksHere(ranges, conf)
                : countLineBreaks(spark, ranges, conf));
    }

    /** @return the bytes to scan (a compressed file counted as four times its size) */
    static long totalBytes(List<InputFile> files) {
        long total = 0;
        for (InputFile f : files) {
            total += f.compressed() ? 4 * f.status().getLen() : f.status().getLen();
        }
        return total;
    }

    private static List<Long> countLineBreaksHere(List<LineSplit> ranges, SerializableConfiguration conf) {
        List<Long> counts = new ArrayList<>();
        for (LineSplit r : ranges) {
            try {
                counts.add(countLineBreaks(r.file(), r.start(), r.end(), conf.value()));
            } catch (IOException e) {
                throw new UncheckedIOException("format(\"openai-batch\"): cannot read " + r.file(), e);
            }
        }
        return counts;
    }

    /** Counts the line breaks of byte ranges of files: {@code (file, from, to)} each. */
    interface LineBreakCounter {
        List<Long> count(List<LineSplit> ranges);
    }

    /**
     * @return the files cut into splits of at most {@code maxPartitionBytes} (and enough for {@code minPartitions});
     * splits that start mid-file have no line number yet (-1)
     */
    static List<LineSplit> cut(List<InputFile> files, ReadOptions options, SerializableConfiguration conf) {
        long total = 0;
        for (InputFile f : files) {
            total += f.status().getLen();
        }
        long size = Math.max(1, Math.min(options.maxPartitionBytes(),
                (total + options.minPartitions() - 1) / options.minPartitions()));
        List<LineSplit> splits = new ArrayList<>();
        for (InputFile f : files) {
            FileStatus s = f.status();
            String uri = s.getPath().toString();
            if (s.getLen() == 0) {
                continue;
            }
            if (f.compressed()) {
                splits.add(new LineSplit(uri, 0, Long.MAX_VALUE, 1, true, hosts(s, 0, s.getLen(), conf)));
                continue;
            }
            for (long start = 0; start < s.getLen(); start += size) {
                long end = Math.min(s.getLen(), start + size);
                splits.add(new LineSplit(uri, start, end, start == 0 ? 1 : -1, false, hosts(s, start, end - start,
                        conf)));
            }
        }
        return splits;
    }

    /**
     * Gives every split its first line number. Split k of a file starts at byte s_k; the line breaks in
     * {@code [s_j - 1, s_{j+1} - 1)} (from 0 for j = 0) of the splits before it tile {@code [0, s_k - 1)}, and the
     * first line starting at or after s_k is line 2 + (line breaks in {@code [0, s_k - 1)}).
     */
    static List<LineSplit> numbered(List<LineSplit> splits, LineBreakCounter counter) {
        List<LineSplit> counted = new ArrayList<>();
        for (int i = 0; i < splits.size(); i++) {
            LineSplit s = splits.get(i);
            boolean split = !s.compressed() && (s.start() > 0 || (i + 1 < splits.size()
                    && splits.get(i + 1).file().equals(s.file())));
            if (split) {
                counted.add(new LineSplit(s.file(), Math.max(0, s.start() - 1), s.end() - 1, s.firstLine(), false,
                        s.hosts()));
            }
        }
        if (counted.isEmpty()) {
            return splits;
        }
        List<Long> counts = counter.count(counted);
        List<LineSplit> out = new ArrayList<>(splits.size());
        int r = 0;
        long before = 0;
        String file = null;
        for (int i = 0; i < splits.size(); i++) {
            LineSplit s = splits.get(i);
            boolean split = !s.compressed() && (s.start() > 0 || (i + 1 < splits.size()
                    && splits.get(i + 1).file().equals(s.file())));
            if (!split) {
                out.add(s);
                continue;
            }
            if (!s.file().equals(file)) {
                file = s.file();
                before = 0;
            }
            out.add(s.start() == 0 ? s : new LineSplit(s.file(), s.start(), s.end(), 2 + before, false, s.hosts()));
            before += counts.get(r++);
        }
        return out;
    }

    private static List<Long> countLineBreaks(SparkSession spark, List<LineSplit> ranges,
                                              SerializableConfiguration conf) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        sc.setJobDescription("openai-batch: count lines of " + ranges.size() + " splits");
        try {
            return sc.parallelize(ranges, ranges.size()).map(r -> countLineBreaks(r.file(), r.start(), r.end(),
                    conf.value())).collect();
        } finally {
            sc.setJobDescription(null);
        }
    }

    /** @return the number of '\n' bytes in {@code [from, to)} of the file */
    static long countLineBreaks(String file, long from, long to, Configuration conf) throws IOException {
        Path p = new Path(file);
        try (FSDataInputStream in = p.getFileSystem(conf).open(p)) {
            in.seek(from);
            byte[] buf = new byte[256 * 1024];
            long left = to - from;
            long n = 0;
            while (left > 0) {
                int got = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (got < 0) {
                    break;
                }
                for (int i = 0; i < got; i++) {
                    if (buf[i] == '\n') {
                        n++;
                    }
                }
                left -= got;
            }
            return n;
        }
    }

    /** @return the split's bytes from {@code max(0, start - 1)} (decompressed for a compressed file) */
    static InputStream open(LineSplit split, Configuration conf) throws IOException {
        Path p = new Path(split.file());
        FileSystem fs = p.getFileSystem(conf);
        FSDataInputStream in = fs.open(p);
        try {
            if (split.compressed()) {
                CompressionCodec codec = new CompressionCodecFactory(conf).getCodec(p);
                return codec.createInputStream(in);
            }
            if (split.start() > 0) {
                in.seek(split.start() - 1);
            }
            return in;
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    /** @return a line reader over the split */
    static LineReader reader(LineSplit split, int maxLineBytes, Configuration conf) throws IOException {
        return new LineReader(open(split, conf), split.compressed() ? 0 : split.start(), split.end(),
                split.firstLine(), maxLineBytes);
    }

    private static String[] hosts(FileStatus s, long start, long length, SerializableConfiguration conf) {
        try {
            BlockLocation[] blocks = s.getPath().getFileSystem(conf.value()).getFileBlockLocations(s, start, length);
            Set<String> hosts = new LinkedHashSet<>();
            for (BlockLocation b : blocks) {
                for (String h : b.getHosts()) {
                    if (!h.equals("localhost")) {
                        hosts.add(h);
                    }
                }
            }
            return hosts.toArray(new String[0]);
        } catch (IOException e) {
            return new String[0];
        }
    }
}
