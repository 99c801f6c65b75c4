package io.stoker.llm.sample;

import java.util.Arrays;

/**
 * Picks tokens for one request from its logits rows: the reference algorithm of sampling, run by the CPU backend per
 * row. The choice depends only on the request (its logits, history, params, seed and how many tokens it has drawn),
 * never on other requests in the batch. Draw {@code k} (the request's {@code k}-th output token) uses
 * {@link SplitMix64#uniform}{@code (seed, k)}.
 *
 * <p>Candidates are ordered canonically (probability descending, then id ascending) before top-p, min-p and the draw,
 * so the result does not depend on how a sort breaks ties.
 *
 * <p>Thread-safety: one thread at a time.
 */
public final class Sampler {
    private final SamplingParams params;
    private final int vocab;
    private final long seed;
    private final boolean penalties;
    private final int[] outputCounts; // null without penalties
    private final boolean[] seen;     // prompt or output (for the repetition penalty); null without penalties
    private long drawn;               // output tokens so far
    private float[] work = new float[0];
    private long[] order = new long[0];
    private int[] cand = new int[0];

    /**
     * @param tokens    prompt then any output already generated (a recomputed request)
     * @param promptLen how many of {@code tokens} are prompt
     */
    public Sampler(SamplingParams params, int vocab, long seed, int[] tokens, int promptLen) {
        this.params = params;
        this.vocab = vocab;
        this.seed = seed;
        this.penalties = params.hasPenalties();
        this.outputCounts = penalties ? new int[vocab] : null;
        this.seen = penalties ? new boolean[vocab] : null;
        for (int i = 0; i < tokens.length; i++) {
            int t = tokens[i];
            if (penalties && t >= 0 && t < vocab) {
                seen[t] = true;
                if (i >= promptLen) {
                    outputCounts[t]++;
                }
            }
        }
        this.drawn = Math.max(0, tokens.length - promptLen);
    }

    /** A sampler for a fresh request (prompt only). */
    public Sampler(SamplingParams params, int vocab, long seed, int[] prompt) {
        this(params, vocab, seed, prompt, prompt.length);
    }

    public SamplingParams params() {
        return params;
    }

    /** Records a generated token (penalties count it; the next draw index advances). */
    public void accept(int token) {
        if (penalties) {
            outputCounts[token]++;
            seen[token] = true;
        }
        drawn++;
    }

    /** Picks the next token from {@code logits[off .. off + vocab)} (not modified). */
    public int sample(float[] logits, int off) {
        SamplingParams p = params;
        if (work.length < vocab) {
            work = new float[vocab];
        }
        float[] l = work;
        System.arraycopy(logits, off, l, 0, vocab);
        if (penalties) {
            float rp = (float) p.repetitionPenalty();
            for (int i = 0; i < vocab; i++) {
                if (seen[i] && rp != 1f) {
                    l[i] = l[i] > 0 ? l[i] / rp : l[i] * rp;
                }
                int c = outputCounts[i];
                if (c > 0) {
                    l[i] -= (float) (p.frequencyPenalty() * c + p.presencePenalty());
                }
            }
        }
        if (p.greedy()) {
            return argmax(l, vocab);
        }
        float invT = (float) (1.0 / p.temperature());
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            l[i] *= invT;
            max = Math.max(max, l[i]);
        }
        if (cand.length < vocab) {
            cand = new int[vocab];
            order = new long[vocab];
        }
        double kth = Double.NEGATIVE_INFINITY;
        if (p.topK() > 0 && p.topK() < vocab) {
            kth = kthLargest(l, vocab, p.topK());
        }
        // probabilities (unnormalised), filtered by top-k
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            if (l[i] < kth) {
                l[i] = 0f;
            } else {
                l[i] = (float) Math.exp(l[i] - max);
            }
            sum += l[i];
        }
        int n = 0;
        for (int i = 0; i < vocab; i++) {
            if (l[i] > 0) {
                order[n++] = ((long) (Integer.MAX_VALUE - Float.floatToRawIntBits(l[i])) << 32) | i;
            }
        }
        Arrays.sort(order, 0, n);
        for (int i = 0; i < n; i++) {
            cand[i] = (int) order[i];
        }
        // top-p: smallest prefix whose mass reaches topP
        if (p.topP() < 1) {
            double acc = 0;
            int keep = n;
            for (int i = 0; i < n; i++) {
                acc += l[cand[i]] / sum;
                if (acc >= p.topP()) {
                    keep = i + 1;
                    break;
                }
            }
            n = keep;
        }
        // min-p: relative to the most likely token
        if (p.minP() > 0 && n > 0) {
            float cut = (float) (p.minP() * l[cand[0]]);
            int keep = 1;
            while (keep < n && l[cand[keep]] >= cut) {
                keep++;
            }
            n = keep;
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            total += l[cand[i]];
        }
        double u = SplitMix64.uniform(seed, drawn) * total;
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += l[cand[i]];
            if (acc > u) {
                return cand[i];
            }
        }
        return cand[Math.max(0, n - 1)];
    }

    /** The top {@code k} logprobs of the raw logits and the logprob of {@code token}. */
    public TokenLogprobs logprobs(float[] logits, int off, int token, int k) {
        return logprobs(logits, off, vocab, token, k);
    }

    /** The top {@code k} logprobs of {@code logits[off .. off + vocab)} and the logprob of {@code token}. */
    public static TokenLogprobs logprobs(float[] logits, int off, int vocab, int token, int k) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double s = 0;
        for (int i = 0; i < vocab; i++) {
            s += Math.exp(logits[off + i] - max);
        }
        double logZ = max + Math.log(s);
        int[] top = new int[k];
        float[] topL = new float[k];
        int filled = 0;
        for (int i = 0; i < vocab && k > 0; i++) {
            float v = logits[off + i];
            if (filled < k || v > logits[off + top[filled - 1]]) {
                int j = Math.min(filled, k - 1);
                while (j > 0 && logits[off + top[j - 1]] < v) {
                    top[j] = top[j - 1];
                    j--;
                }
                top[j] = i;
                filled = Math.min(filled + 1, k);
            }
        }
        for (int i = 0; i < k; i++) {
            topL[i] = (float) (logits[off + top[i]] - logZ);
        }
        return new TokenLogprobs(token, (float) (logits[off + token] - logZ), top, topL);
    }

    static int argmax(float[] v, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    private double kthLargest(float[] l, int n, int k) {
        float[] c = Arrays.copyOf(l, n);
        Arrays.sort(c);
        return c[n - k];
    }
}
