package io.stoker.spark.batch;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Collection;

/**
 * A set of line numbers as sorted, disjoint inclusive ranges: small when the lines come in runs, as answered lines
 * do. Immutable; {@link #contains} is a binary search.
 */
final class LineRanges implements Serializable {
    private static final long serialVersionUID = 1L;
    static final LineRanges EMPTY = new LineRanges(new long[0]);

    /** from0, to0, from1, to1, ... ascending, with gaps between ranges */
    private final long[] bounds;

    private LineRanges(long[] bounds) {
        this.bounds = bounds;
    }

    /** @param ranges inclusive (from, to) pairs, in any order, possibly overlapping */
    static LineRanges union(Collection<long[]> ranges) {
        int n = 0;
        for (long[] r : ranges) {
            n += r.length / 2;
        }
        long[][] pairs = new long[n][];
        int k = 0;
        for (long[] r : ranges) {
            for (int i = 0; i < r.length; i += 2) {
                pairs[k++] = new long[]{r[i], r[i + 1]};
            }
        }
        Arrays.sort(pairs, (a, b) -> Long.compare(a[0], b[0]));
        long[] out = new long[2 * n];
        int len = 0;
        for (long[] p : pairs) {
            if (len > 0 && p[0] <= out[len - 1] + 1) {
                out[len - 1] = Math.max(out[len - 1], p[1]);
            } else {
                out[len++] = p[0];
                out[len++] = p[1];
            }
        }
        return new LineRanges(Arrays.copyOf(out, len));
    }

    boolean contains(long line) {
        int lo = 0;
        int hi = bounds.length / 2 - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (line < bounds[2 * mid]) {
                hi = mid - 1;
            } else if (line > bounds[2 * mid + 1]) {
                lo = mid + 1;
            } else {
                return true;
            }
        }
        return false;
    }

    /** @return how many lines the set holds */
    long size() {
        long n = 0;
        for (int i = 0; i < bounds.length; i += 2) {
            n += bounds[i + 1] - bounds[i] + 1;
        }
        return n;
    }

    /** @return the number of ranges */
    int ranges() {
        return bounds.length / 2;
    }
}
