package io.stoker.benchmarks.spark.llm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * This process's memory as Linux reports it: peak and current resident set ({@code /proc/self/status} VmHWM, VmRSS)
 * and how much of a model's files is resident through this process's mappings ({@code /proc/self/smaps}). A file
 * mapped twice counts twice, as in the process's RSS: the resident size of a model's mappings divided by the files'
 * size is the number of model copies the process holds (when every page was touched).
 */
public final class ProcessMemory {
    private static final Pattern HEADER = Pattern.compile("^[0-9a-f]+-[0-9a-f]+ \\S+ \\S+ \\S+ \\S+\\s*(.*)$");
    private static final Pattern KB = Pattern.compile("^(\\w+):\\s+(\\d+) kB");

    private ProcessMemory() {
    }

    /** @return a {@code /proc/self/status} field in KiB (e.g. VmHWM), or -1 when unavailable (not Linux) */
    public static long statusKb(String field) {
        try (BufferedReader r = Files.newBufferedReader(Path.of("/proc/self/status"), StandardCharsets.US_ASCII)) {
            String l;
            while ((l = r.readLine()) != null) {
                Matcher m = KB.matcher(l);
                if (m.find() && m.group(1).equals(field)) {
                    return Long.parseLong(m.group(2));
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }

    /** Resident size and number of the mappings of some files. */
    public record Mapped(long rssKb, int mappings) {
    }

    /** @return the resident KiB and count of this process's mappings of {@code files} (real paths) */
    public static Mapped mapped(Set<String> files) {
        try (BufferedReader r = Files.newBufferedReader(Path.of("/proc/self/smaps"), StandardCharsets.UTF_8)) {
            return parseSmaps(r, files);
        } catch (IOException e) {
            return new Mapped(-1, 0);
        }
    }

    /** Parses smaps text (one header line per mapping, then {@code Key: n kB} lines). */
    static Mapped parseSmaps(BufferedReader r, Set<String> files) throws IOException {
        long rss = 0;
        int mappings = 0;
        boolean inFile = false;
        String l;
        while ((l = r.readLine()) != null) {
            Matcher h = HEADER.matcher(l);
            if (h.matches()) {
                String path = h.group(1).trim();
                if (path.endsWith(" (deleted)")) {
                    path = path.substring(0, path.length() - " (deleted)".length());
                }
                inFile = files.contains(path);
                if (inFile) {
                    mappings++;
                }
            } else if (inFile && l.startsWith("Rss:")) {
                Matcher m = KB.matcher(l);
                if (m.find()) {
                    rss += Long.parseLong(m.group(2));
                }
            }
        }
        return new Mapped(rss, mappings);
    }

    /** @return the real paths of a model's weight files: the file itself, or a directory's .gguf/.safetensors files */
    public static Set<String> weightFiles(Path model) {
        try {
            Path real = model.toRealPath();
            if (!Files.isDirectory(real)) {
                return Set.of(real.toString());
            }
            try (var s = Files.list(real)) {
                return s.filter(p -> p.toString().endsWith(".gguf") || p.toString().endsWith(".safetensors"))
                        .map(Path::toString).collect(java.util.stream.Collectors.toUnmodifiableSet());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read model " + model, e);
        }
    }

    /** @return the total size of files, in KiB */
    public static long sizeKb(Set<String> files) {
        long b = 0;
        for (String f : files) {
            try {
                b += Files.size(Path.of(f));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return b >> 10;
    }

    /** Samples the model files' resident mappings on a daemon thread and keeps the peak. */
    public static final class PeakSampler implements AutoCloseable {
        private final Set<String> files;
        private final Thread thread;
        private volatile boolean stop;
        private volatile Mapped peak = new Mapped(0, 0);

        public PeakSampler(Set<String> files, long periodMillis) {
            this.files = files;
            this.thread = new Thread(() -> {
                while (!stop) {
                    sample();
                    try {
                        Thread.sleep(periodMillis);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "bench-rss-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        /** Takes one sample now (also called at the end of a run, so the final state is counted). */
        public synchronized Mapped sample() {
            Mapped m = mapped(files);
            if (m.rssKb() > peak.rssKb()) {
                peak = m;
            }
            return m;
        }

        public Mapped peak() {
            return peak;
        }

        @Override
        public void close() {
            stop = true;
            thread.interrupt();
        }
    }
}
