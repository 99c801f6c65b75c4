package io.stoker.llm.batch;

import io.stoker.llm.tokenizer.IncrementalDetokenizer;
import io.stoker.llm.tokenizer.Tokenizer;

import java.util.List;

/**
 * Watches one request's output for stop strings: each new token's text comes from an {@link IncrementalDetokenizer}
 * (a short decode window, never the whole output), and the search looks only at text that could contain a new match.
 *
 * <p>Thread-safety: the engine thread only.
 */
final class StopStrings {
    private final IncrementalDetokenizer detokenizer;
    private final List<String> stops;
    private final int longest;
    private final StringBuilder text = new StringBuilder();
    private int found = -1;

    StopStrings(Tokenizer tokenizer, List<String> stops) {
        this.detokenizer = new IncrementalDetokenizer(tokenizer, true);
        this.stops = List.copyOf(stops);
        int l = 0;
        for (String s : stops) {
            l = Math.max(l, s.length());
        }
        this.longest = l;
    }

    /** @return true once a stop string has appeared in the output text */
    boolean accept(int token) {
        String delta = detokenizer.next(token);
        if (delta.isEmpty()) {
            return found >= 0;
        }
        int from = Math.max(0, text.length() - longest + 1);
        text.append(delta);
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
