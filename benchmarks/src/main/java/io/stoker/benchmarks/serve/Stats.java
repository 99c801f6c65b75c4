package io.stoker.benchmarks.serve;

import java.util.Arrays;
import java.util.List;

/** Percentiles of latency samples (nearest rank). */
final class Stats {
    private Stats() {
    }

    static double percentile(List<Double> samples, double p) {
        if (samples.isEmpty()) {
            return Double.NaN;
        }
        double[] s = samples.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(s);
        int rank = (int) Math.ceil(p / 100.0 * s.length);
        return s[Math.max(0, Math.min(s.length - 1, rank - 1))];
    }

    /** The same synthetic prompt in every JVM: ids spread over the vocabulary, above the special tokens. */
    static int[] prompt(int client, int tokens, int vocab) {
        int[] ids = new int[tokens];
        long h = 0x9E3779B97F4A7C15L * (client + 1);
        for (int j = 0; j < tokens; j++) {
            h ^= h >>> 29;
            h *= 0xBF58476D1CE4E5B9L;
            h ^= h >>> 32;
            ids[j] = 3 + (int) Math.floorMod(h, (long) (vocab - 3));
        }
        return ids;
    }
}
