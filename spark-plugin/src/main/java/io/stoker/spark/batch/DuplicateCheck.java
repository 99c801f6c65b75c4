package io.stoker.spark.batch;

import io.stoker.spark.batch.DuplicateCustomIdException.Duplicate;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;
import scala.Tuple2;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * Finds custom_ids that are on more than one line, with a Spark job over the splits: each task streams its lines and
 * reads only each line's top-level custom_id; a shuffle (which spills to disk) groups the ids. Memory stays bounded
 * however many requests the input has. Small inputs are scanned on the driver instead (a map of their ids). Lines
 * without a string custom_id are left out (they are error rows).
 */
final class DuplicateCheck {
    /** How many duplicated ids an error lists. */
    static final int REPORTED = 20;
    /** How many line numbers an error lists per id. */
    static final int LINES_PER_ID = 5;

    private DuplicateCheck() {
    }

    /** Lines of one id: the count and the first places, ordered by (file, line). */
    private record Seen(long count, String[] files, long[] lines) implements Serializable {
        Seen merge(Seen o) {
            int n = Math.min(LINES_PER_ID, lines.length + o.lines.length);
            String[] f = new String[n];
            long[] l = new long[n];
            int i = 0;
            int j = 0;
            for (int k = 0; k < n; k++) {
                boolean mine = j >= o.lines.length || (i < lines.length && (files[i].compareTo(o.files[j]) < 0
                        || (files[i].equals(o.files[j]) && lines[i] <= o.lines[j])));
                f[k] = mine ? files[i] : o.files[j];
                l[k] = mine ? lines[i++] : o.lines[j++];
            }
            return new Seen(count + o.count, f, l);
        }
    }

    /**
     * @param onDriver scan here instead of in a Spark job (small inputs: the ids fit in memory)
     * @throws DuplicateCustomIdException listing the first duplicated ids with their line numbers
     */
    static void check(SparkSession spark, List<LineSplit> splits, int maxLineBytes, SerializableConfiguration conf,
                      boolean onDriver) {
        if (splits.isEmpty()) {
            return;
        }
        if (onDriver) {
            Map<String, Seen> seen = new HashMap<>();
            for (LineSplit s : splits) {
                for (Iterator<Tuple2<String, Seen>> it = ids(s, maxLineBytes, conf); it.hasNext(); ) {
                    Tuple2<String, Seen> t = it.next();
                    seen.merge(t._1(), t._2(), Seen::merge);
                }
            }
            List<Duplicate> dups = new ArrayList<>();
            seen.forEach((id, s) -> {
                if (s.count() > 1) {
                    dups.add(new Duplicate(id, s.files(), s.lines(), s.count()));
                }
            });
            dups.sort(ORDER);
            report(dups.subList(0, Math.min(REPORTED, dups.size())));
            return;
        }
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        sc.setJobDescription("openai-batch: check that custom_ids are unique");
        List<Duplicate> dups;
        try {
            JavaPairRDD<String, Seen> ids = sc.parallelize(splits, splits.size()).mapPartitionsToPair(it -> {
                List<Iterator<Tuple2<String, Seen>>> parts = new ArrayList<>();
                while (it.hasNext()) {
                    parts.add(ids(it.next(), maxLineBytes, conf));
                }
                return concat(parts);
            });
            int partitions = Math.max(1, Math.min(200, splits.size()));
            dups = ids.reduceByKey(Seen::merge, partitions).filter(t -> t._2().count() > 1)
                    .map(t -> new Duplicate(t._1(), t._2().files(), t._2().lines(), t._2().count()))
                    .takeOrdered(REPORTED, ORDER);
        } finally {
            sc.setJobDescription(null);
        }
        report(dups);
    }

    /** Duplicates by their first place. */
    private static final Comparator<Duplicate> ORDER = (Comparator<Duplicate> & Serializable) (x, y) -> {
        int c = x.files()[0].compareTo(y.files()[0]);
        return c != 0 ? c : Long.compare(x.lines()[0], y.lines()[0]);
    };

    private static void report(List<Duplicate> dups) {
        if (!dups.isEmpty()) {
            StringBuilder m = new StringBuilder("format(\"openai-batch\"): custom_id must be unique, but ");
            for (int i = 0; i < dups.size(); i++) {
                m.append(i > 0 ? "; " : "").append(dups.get(i));
            }
            if (dups.size() == REPORTED) {
                m.append("; (only the first ").append(REPORTED).append(" are listed)");
            }
            m.append(". Give each request its own custom_id (or read with option checkDuplicates=false)");
            throw new DuplicateCustomIdException(m.toString(), dups);
        }
    }

    private static <T> Iterator<T> concat(List<Iterator<T>> parts) {
        return parts.stream().flatMap(p -> {
            Iterable<T> i = () -> p;
            return java.util.stream.StreamSupport.stream(i.spliterator(), false);
        }).iterator();
    }

    /** @return the split's (custom_id, line) pairs, streamed from the file */
    private static Iterator<Tuple2<String, Seen>> ids(LineSplit split, int maxLineBytes,
                                                       SerializableConfiguration conf) {
        LineReader reader;
        try {
            reader = SplitPlanner.reader(split, maxLineBytes, conf.value());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + split, e);
        }
        RequestParser parser = new RequestParser(split.file(), maxLineBytes);
        return new Iterator<>() {
            Tuple2<String, Seen> next;
            boolean done;

            @Override
            public boolean hasNext() {
                try {
                    while (next == null && !done) {
                        if (!reader.next()) {
                            done = true;
                            reader.close();
                            break;
                        }
                        String id = parser.customId(reader.bytes(), reader.length());
                        if (id != null) {
                            next = new Tuple2<>(id, new Seen(1, new String[]{split.file()}, new long[]{reader.lineNumber()}));
                        }
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read " + split, e);
                }
                return next != null;
            }

            @Override
            public Tuple2<String, Seen> next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                Tuple2<String, Seen> t = next;
                next = null;
                return t;
            }
        };
    }
}
