package io.stoker.llm.backend.cuda;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The sampling rule in plain Java, written from the CPU engine's Sampler semantics: scale by 1/T; top-k by the k-th
 * largest value; probabilities exp(z - max); candidates ordered by probability descending, id ascending; top-p as
 * the smallest prefix reaching topP of the mass; min-p relative to the most likely; a draw u from the row's
 * SplittableRandom at its step, scaled by the kept mass.
 */
final class SamplerReference {
    private SamplerReference() {
    }

    static int sample(float[] logits, float invT, int topK, float topP, float minP, long seed, long step) {
        int n = logits.length;
        if (invT == 0f) {
            int best = 0;
            for (int i = 1; i < n; i++) {
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            return best;
        }
        float[] z = new float[n];
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            z[i] = logits[i] * invT;
            max = Math.max(max, z[i]);
        }
        double kth = Double.NEGATIVE_INFINITY;
        if (topK > 0 && topK < n) {
            float[] sorted = z.clone();
            Arrays.sort(sorted);
            kth = sorted[n - topK];
        }
        float[] p = new float[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = z[i] < kth ? 0f : (float) Math.exp(z[i] - max);
            sum += p[i];
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Float.compare(p[b], p[a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        int keep = 0;
        while (keep < n && p[order[keep]] > 0) {
            keep++;
        }
        if (topP < 1f) {
            double acc = 0;
            for (int i = 0; i < keep; i++) {
                acc += p[order[i]];
                if (acc >= topP * sum) {
                    keep = i + 1;
                    break;
                }
            }
        }
        if (minP > 0f) {
            float cut = minP * p[order[0]];
            int k = 1;
            while (k < keep && p[order[k]] >= cut) {
                k++;
            }
            keep = k;
        }
        double total = 0;
        for (int i = 0; i < keep; i++) {
            total += p[order[i]];
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        double u = 0;
        for (long i = 0; i <= step; i++) {
            u = rnd.nextDouble();
        }
        u *= total;
        double acc = 0;
        for (int i = 0; i < keep; i++) {
            acc += p[order[i]];
            if (acc > u) {
                return order[i];
            }
        }
        return order[Math.max(0, keep - 1)];
    }
}
