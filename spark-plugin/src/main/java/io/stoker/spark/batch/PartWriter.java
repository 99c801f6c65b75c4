package io.stoker.spark.batch;

import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Writes one task's results as committed parts (layout: {@link PartDescriptor}). A part is written under
 * {@code _tmp/}, then its meta file is written and the part renamed into place: the rename commits it. A new part
 * starts when the input file changes, when a line does not come after the previous one, after {@code commitRows}
 * rows or after {@code commitMillis}; so an interrupted task keeps every part it committed, and every part is in line
 * order. Single-threaded: one Spark task.
 */
final class PartWriter implements Closeable {
    private final FileSystem fs;
    private final Path dir;
    private final String name;
    private final int commitRows;
    private final long commitMillis;
    private int seq;

    private Writer out;
    private Path tmp;
    private String file;
    private long first;
    private long last;
    private long rows;
    private long opened;
    private long[] ok = new long[16];
    private int okLength;
    private long committedRows;

    /**
     * @param dir  the run's directory
     * @param name unique for the task attempt, e.g. {@code part-00003-17}
     */
    PartWriter(FileSystem fs, Path dir, String name, int commitRows, long commitMillis) {
        this.fs = fs;
        this.dir = dir;
        this.name = name;
        this.commitRows = commitRows;
        this.commitMillis = commitMillis;
    }

    void write(String inputFile, long line, boolean lineOk, String json) throws IOException {
        if (out != null && (!inputFile.equals(file) || line <= last || rows >= commitRows
                || System.currentTimeMillis() - opened >= commitMillis)) {
            commit();
        }
        if (out == null) {
            tmp = new Path(new Path(dir, PartDescriptor.TMP_DIR), String.format("%s-%05d%s", name, seq,
                    PartDescriptor.PART_SUFFIX));
            FSDataOutputStream s = fs.create(tmp, true);
            out = new BufferedWriter(new OutputStreamWriter(s, StandardCharsets.UTF_8), 64 * 1024);
            file = inputFile;
            first = line;
            rows = 0;
            okLength = 0;
            opened = System.currentTimeMillis();
        }
        out.write(PartDescriptor.encode(line, lineOk, json));
        last = line;
        rows++;
        if (lineOk) {
            if (okLength > 0 && ok[okLength - 1] == line - 1) {
                ok[okLength - 1] = line;
            } else {
                if (okLength + 2 > ok.length) {
                    ok = Arrays.copyOf(ok, ok.length * 2);
                }
                ok[okLength++] = line;
                ok[okLength++] = line;
            }
        }
    }

    /** Commits the open part: meta file first, then the rename that makes the part visible. */
    void commit() throws IOException {
        if (out == null) {
            return;
        }
        out.close();
        out = null;
        String partName = String.format("%s-%05d", name, seq++);
        Path part = new Path(dir, partName + PartDescriptor.PART_SUFFIX);
        PartMeta meta = new PartMeta(part, file, first, last, rows, Arrays.copyOf(ok, okLength), 0);
        try (FSDataOutputStream m = fs.create(new Path(dir, partName + PartDescriptor.META_SUFFIX), true)) {
            m.write(meta.toJson().getBytes(StandardCharsets.UTF_8));
        }
        if (!fs.rename(tmp, part)) {
            throw new IOException("cannot commit the batch part " + tmp + " as " + part);
        }
        committedRows += rows;
    }

    /** @return rows in committed parts */
    long committedRows() {
        return committedRows;
    }

    /** Drops the open part (a failed task); committed parts stay. */
    void abort() {
        if (out != null) {
            try {
                out.close();
                fs.delete(tmp, false);
            } catch (IOException ignored) {
                // the _tmp directory is deleted with the work directory
            }
            out = null;
        }
    }

    @Override
    public void close() throws IOException {
        commit();
    }
}
