package io.stoker.spark.batch;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Part files and their merge, without Spark: commit by rename, order, and one line per input line. */
class PartsMergerTest {
    private final Configuration conf = new Configuration();

    private static String json(long line, String who) {
        return "{\"line\":" + line + ",\"by\":\"" + who + "\"}";
    }

    @Test
    void shouldCommitPartsByRenameAndRollThemOnRowsFilesAndOrder() throws IOException {
        java.nio.file.Path tmp = Files.createTempDirectory("parts");
        Path dir = new Path(tmp.toUri());
        FileSystem fs = OutputFs.of(dir, conf);
        PartWriter w = new PartWriter(fs, dir, "part-00000-1", 3, Long.MAX_VALUE);
        long[] lines = {1, 2, 3, 4, 5, 9, 7, 8};
        for (long l : lines) {
            w.write("file:/in", l, l != 2, json(l, "a"));
        }
        // before close, only the full parts are committed (3 rows; then 4, 5, 9; 7, 8 still open)
        assertThat(PartsJob.committed(fs, dir, 1)).hasSize(2);
        w.write("file:/other", 1, true, json(1, "other"));
        w.close();
        List<PartMeta> parts = PartsJob.committed(fs, dir, 1);
        assertThat(parts).hasSize(4);
        PartMeta first = parts.stream().filter(p -> p.first() == 1 && p.file().equals("file:/in")).findFirst()
                .orElseThrow();
        assertThat(first.last()).isEqualTo(3);
        assertThat(first.okRanges()).containsExactly(1, 1, 3, 3);
        assertThat(parts.stream().filter(p -> p.first() == 7).findFirst().orElseThrow().okRanges())
                .as("a line before the previous one starts a new part").containsExactly(7, 8);
        try (var s = Files.list(tmp.resolve(PartDescriptor.TMP_DIR))) {
            assertThat(s).as("nothing left under _tmp after commits").isEmpty();
        }
        StringWriter out = new StringWriter();
        PartsMerger.Result r = PartsMerger.merge(fs, parts, out);
        assertThat(r.lines()).isEqualTo(9);
        assertThat(r.ok()).isEqualTo(8);
        List<String> got = out.toString().lines().toList();
        assertThat(got).containsExactly(json(1, "a"), json(2, "a"), json(3, "a"), json(4, "a"), json(5, "a"),
                json(7, "a"), json(8, "a"), json(9, "a"), json(1, "other"));
    }

    /** A retried task, an earlier output and a later run hold the same lines: each line is written once. */
    @Test
    void shouldWriteEachLineOnceAnAnswerBeforeAnErrorAndTheNewestRunFirst() throws IOException {
        java.nio.file.Path tmp = Files.createTempDirectory("merge");
        FileSystem fs = OutputFs.of(new Path(tmp.toUri()), conf);
        List<PartMeta> parts = new ArrayList<>();
        // generation 0 (an earlier output): lines 1..6, line 3 and 5 were errors
        parts.addAll(write(fs, tmp, "base", 0, 1, 6, l -> l != 3 && l != 5, "base"));
        // run 1 retried the errors and answered 7..10, its task for 7..10 ran twice (a retry after a commit)
        parts.addAll(write(fs, tmp, "run-0001", 1, 3, 3, l -> false, "run1"));
        parts.addAll(write(fs, tmp, "run-0001", 1, 5, 5, l -> true, "run1"));
        parts.addAll(write(fs, tmp, "run-0001", 1, 7, 10, l -> true, "run1a"));
        parts.addAll(write(fs, tmp, "run-0001", 1, 7, 10, l -> true, "run1b"));
        // run 2 retried line 3 again and answered it
        parts.addAll(write(fs, tmp, "run-0002", 2, 3, 3, l -> true, "run2"));
        StringWriter out = new StringWriter();
        PartsMerger.Result r = PartsMerger.merge(fs, parts, out);
        List<String> got = out.toString().lines().toList();
        assertThat(got).containsExactly(json(1, "base"), json(2, "base"), json(3, "run2"), json(4, "base"),
                json(5, "run1"), json(6, "base"), json(7, "run1a"), json(8, "run1a"), json(9, "run1a"),
                json(10, "run1a"));
        assertThat(r.lines()).isEqualTo(10);
        assertThat(r.ok()).isEqualTo(10);
    }

    private static int seq;

    private List<PartMeta> write(FileSystem fs, java.nio.file.Path root, String run, int generation, long from,
                                 long to, java.util.function.LongPredicate ok, String who) throws IOException {
        Path dir = new Path(root.resolve(run).toUri());
        PartWriter w = new PartWriter(fs, dir, "part-" + (seq++), 1000, Long.MAX_VALUE);
        for (long l = from; l <= to; l++) {
            w.write("file:/in", l, ok.test(l), json(l, who));
        }
        w.close();
        List<PartMeta> all = PartsJob.committed(fs, dir, generation);
        return all.stream().filter(p -> p.part().getName().startsWith("part-" + (seq - 1) + "-")).toList();
    }
}
