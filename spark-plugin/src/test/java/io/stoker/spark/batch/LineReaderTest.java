package io.stoker.spark.batch;

import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Line splitting without Spark: every split size of tricky files yields each line once, with its number. */
class LineReaderTest {
    private static final int MAX = 12;
    private final Configuration conf = new Configuration();

    /** The reference: split the text on '\n', number from 1, drop blank lines, cut at MAX bytes. */
    private static List<String> expected(String text) {
        List<String> out = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String l = lines[i];
            if (i == lines.length - 1 && l.isEmpty()) {
                break; // the end of the file is not a line
            }
            if (l.endsWith("\r")) {
                l = l.substring(0, l.length() - 1);
            }
            if (l.isBlank()) {
                continue;
            }
            byte[] b = l.getBytes(StandardCharsets.UTF_8);
            out.add((i + 1) + ":" + (b.length > MAX ? l.substring(0, MAX) + "~" + b.length : l));
        }
        return out;
    }

    private List<String> read(Path file, long splitSize) throws IOException {
        long len = Files.size(file);
        String uri = file.toUri().toString();
        List<LineSplit> cut = new ArrayList<>();
        for (long s = 0; s < len; s += splitSize) {
            cut.add(new LineSplit(uri, s, Math.min(len, s + splitSize), s == 0 ? 1 : -1, false, new String[0]));
        }
        List<LineSplit> splits = SplitPlanner.numbered(cut, ranges -> {
            List<Long> counts = new ArrayList<>();
            for (LineSplit r : ranges) {
                try {
                    counts.add(SplitPlanner.countLineBreaks(r.file(), r.start(), r.end(), conf));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return counts;
        });
        List<String> got = new ArrayList<>();
        for (LineSplit s : splits) {
            try (LineReader r = SplitPlanner.reader(s, MAX, conf)) {
                while (r.next()) {
                    String l = new String(r.bytes(), 0, r.length(), StandardCharsets.UTF_8);
                    got.add(r.lineNumber() + ":" + (r.truncated() ? l + "~" + r.lineBytes() : l));
                }
            }
        }
        return got;
    }

    @Test
    void shouldYieldEveryLineOnceWithItsNumberForEverySplitSize() throws IOException {
        List<String> texts = List.of(
                "a\nbb\n\nccc\r\n  \nthis line is too long\nd",
                "\n\nfirst after blanks\n\n",
                "one line, no newline",
                "x\n",
                "\n",
                "a\r\n\r\nb\r\n0123456789ab\n0123456789abc\n");
        int n = 0;
        for (String text : texts) {
            Path f = Files.writeString(Files.createTempFile("lines", ".jsonl"), text);
            try {
                List<String> want = expected(text);
                for (long size = 1; size <= text.length() + 1; size++) {
                    assertThat(read(f, size)).as("split size " + size + " of " + text.replace("\n", "\\n"))
                            .isEqualTo(want);
                    n++;
                }
            } finally {
                Files.delete(f);
            }
        }
        assertThat(n).isGreaterThan(80);
    }

    @Test
    void shouldKeepOnlyTheStartOfALineOverTheLimitAndCountItsLength() throws IOException {
        byte[] big = ("{\"custom_id\": \"k\", \"x\": \"" + "y".repeat(100_000) + "\"}\nnext\n")
                .getBytes(StandardCharsets.UTF_8);
        try (LineReader r = new LineReader(new ByteArrayInputStream(big), 0, Long.MAX_VALUE, 1, 64)) {
            assertThat(r.next()).isTrue();
            assertThat(r.truncated()).isTrue();
            assertThat(r.length()).isEqualTo(64);
            assertThat(r.bytes().length).as("buffer never grows past the limit").isLessThanOrEqualTo(64);
            assertThat(r.lineBytes()).isEqualTo(big.length - "\nnext\n".length());
            assertThat(new RequestParser("f", 64).customId(r.bytes(), r.length())).isEqualTo("k");
            assertThat(r.next()).isTrue();
            assertThat(new String(r.bytes(), 0, r.length(), StandardCharsets.UTF_8)).isEqualTo("next");
            assertThat(r.lineNumber()).isEqualTo(2);
            assertThat(r.next()).isFalse();
        }
    }
}
