package io.stoker.llm.batch;

import io.stoker.llm.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * Watches one request's output for stop strings with incremental detokenization: each new token decodes only a short
 * window (the tokens since the last emitted text, plus the ones before them for context), never the whole output,
 * and the search looks only at text that could contain a new match.
 *
 * <p>The window rule (vLLM's and text-generation-inference's): {@code prefix = decode(ids[prefixOffset,
 * readOffset))}, {@code full = decode(ids[prefixOffset, end))}; when {@code full} is longer than {@code prefix} and
 * does not end in an incomplete character (U+FFFD), the difference is new text and both offsets move forward.
 *
 * <p>Thread-safety: the engine thread only.
 */
final class StopStrings {
    private final Tokenizer tokenizer;
    private final List<String> stops;
    private final int longest;
    private final StringBuilder text = new StringBuilder();
    private int[] ids = new int[16];
    private int n;
    private int prefixOffset;
    private int readOffset;
    private int found = -1;

    StopStrings(Tokenizer tokenizer, List<String> stops) {
        this.tokenizer = tokenizer;
        this.stops = List.copyOf(stops);
        int l = 0;
        for (String s : stops) {
            l = Math.max(l, s.length());
        }
        this.longest = l;
    }

    /** @return true once a stop string has appeared in the output text */
    boolean accept(int token) {
        if (n == ids.length) {
            ids = Arrays.copyOf(ids, 2 * n);
        }
        ids[n++] = token;
        String prefix = prefixOffset == readOffset ? ""
                : tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, readOffset), true);
        String full = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, n), true);
        if (full.length() <= prefix.length() || full.endsWith("\uFFFD")) {
            return found >= 0;
        }
        int from = Math.max(0, text.length() - longest + 1);
        text.append(full, prefix.length(), full.length());
        prefixOffset = readOffset;
        readOffset = n;
        if (found < 0) {
            for (String s : stops) {
                int i = text.indexOf(s, from);
                if (i >= 0 && (found < 0 || i < found)) {
                    found = i;
                }
            }
        }
        return found >= 0;
    }

    /** @return where in {@code text} the earliest stop string starts, or -1 */
    static int cut(String text, List<String> stops) {
        int best = -1;
        for (String stop : stops) {
            int i = text.indexOf(stop);
            if (i >= 0 && (best < 0 || i < best)) {
                best = i;
            }
        }
        return best;
    }
}
