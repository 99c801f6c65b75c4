package io.stoker.spark.batch;

import org.apache.hadoop.fs.FileSystem;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Merges committed parts into one output stream in (input file, line) order, streaming: a part is opened only when the
 * merge reaches its first line and closed when it is used up, so memory holds one pending record per overlapping part,
 * whatever the total size. When several parts hold the same line (a task retried after it had committed, or a line
 * answered again by a later run), one is written: a status 200 answer before an error, then the latest generation.
 * Single-threaded.
 */
final class PartsMerger {
    private PartsMerger() {
    }

    /** What was written: lines in all, of which with status 200. */
    record Result(long lines, long ok) {
        long errors() {
            return lines - ok;
        }
    }

    private static final class Cursor implements Closeable {
        final PartMeta meta;
        final int index;
        final BufferedReader in;
        PartDescriptor.Record current;

        Cursor(PartMeta meta, int index, FileSystem fs) throws IOException {
            this.meta = meta;
            this.index = index;
            this.in = new BufferedReader(new InputStreamReader(fs.open(meta.part()), StandardCharsets.UTF_8),
                    16 * 1024);
        }

        boolean advance() throws IOException {
            String s = in.readLine();
            current = s == null ? null : PartDescriptor.decode(s, meta.part().toString());
            return current != null;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    private static final Comparator<Cursor> ORDER = Comparator
            .<Cursor, String>comparing(c -> c.meta.file())
            .thenComparingLong(c -> c.current.line())
            .thenComparing(c -> !c.current.ok())
            .thenComparing(c -> -c.meta.generation())
            .thenComparingInt(c -> c.index);

    static Result merge(FileSystem fs, List<PartMeta> parts, Writer out) throws IOException {
        List<PartMeta> byStart = new ArrayList<>(parts);
        byStart.sort(Comparator.comparing(PartMeta::file).thenComparingLong(PartMeta::first));
        PriorityQueue<Cursor> open = new PriorityQueue<>(ORDER);
        int next = 0;
        long lines = 0;
        long ok = 0;
        try {
            while (true) {
                while (next < byStart.size() && (open.isEmpty() || startsBefore(byStart.get(next), open.peek()))) {
                    Cursor c = new Cursor(byStart.get(next), next, fs);
                    next++;
                    if (c.advance()) {
                        open.add(c);
                    } else {
                        c.close();
                    }
                }
                Cursor best = open.poll();
                if (best == null) {
                    break;
                }
                String file = best.meta.file();
                long line = best.current.line();
                out.write(best.current.json());
                out.write('\n');
                lines++;
                ok += best.current.ok() ? 1 : 0;
                advanceOrClose(best, open);
                while (!open.isEmpty() && open.peek().meta.file().equals(file) && open.peek().current.line() == line) {
                    advanceOrClose(open.poll(), open);
                }
            }
        } finally {
            for (Cursor c : open) {
                c.close();
            }
        }
        return new Result(lines, ok);
    }

    private static boolean startsBefore(PartMeta m, Cursor head) {
        int c = m.file().compareTo(head.meta.file());
        return c < 0 || (c == 0 && m.first() <= head.current.line());
    }

    private static void advanceOrClose(Cursor c, PriorityQueue<Cursor> open) throws IOException {
        if (c.advance()) {
            open.add(c);
        } else {
            c.close();
        }
    }
}
