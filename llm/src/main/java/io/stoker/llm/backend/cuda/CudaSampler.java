package io.stoker.llm.backend.cuda;

import io.stoker.llm.backend.Activation;
import io.stoker.llm.backend.TokenSampler;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.sample.TokenLogprobs;
import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaStream;
import io.stoker.runtime.cuda.DeviceBuffer;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Sampling where the logits are: each step uploads every row's settings (1/T, top-k, top-p, min-p, seed, draw
 * counter) in one copy, runs {@link LlmKernels#sample} over all rows, and copies back one int per row. Rows with
 * penalties first get their logits copied and penalised on the device ({@link LlmKernels#applyPenalties}, from a
 * compact list of the tokens each request has seen), so logprobs still describe the raw distribution.
 *
 * <p>Slots keep, on the host, what a request's sampling needs between steps: its settings, seed, draws so far and,
 * with penalties, its token counts.
 *
 * <p>Thread-safety: owner thread of the device only.
 */
final class CudaSampler implements TokenSampler {
    /** A running request's sampling state. */
    private static final class Slot {
        final SamplingParams params;
        final long seed;
        final boolean penalties;
        final int[] outputCounts; // per token id; null without penalties
        final boolean[] seen;
        int[] distinct = new int[16]; // tokens seen, in first-seen order
        int numDistinct;
        long drawn;

        Slot(SamplingParams params, int vocab, long seed, int[] tokens, int promptLen) {
            this.params = params;
            this.seed = seed;
            this.penalties = params.hasPenalties();
            this.outputCounts = penalties ? new int[vocab] : null;
            this.seen = penalties ? new boolean[vocab] : null;
            for (int i = 0; i < tokens.length; i++) {
                record(tokens[i], i >= promptLen);
            }
            this.drawn = Math.max(0, tokens.length - promptLen);
        }

        void record(int t, boolean output) {
            if (!penalties || t < 0 || t >= seen.length) {
                return;
            }
            if (!seen[t]) {
                seen[t] = true;
                if (numDistinct == distinct.length) {
                    distinct = Arrays.copyOf(distinct, 2 * distinct.length);
                }
                distinct[numDistinct++] = t;
            }
            if (output) {
                outputCounts[t]++;
            }
        }
    }

    private final CudaDevice device;
    private final CudaStream stream;
    private final LlmKernels kernels;
    private final int vocab;
    private final Slot[] slots;
    private final Staging settings;
    private final Staging penaltyLists;
    private final Staging oneToken;
    private DeviceBuffer out;        // int32 per row
    private DeviceBuffer penalised;  // f32 rows x vocab
    private DeviceBuffer topIds;      // int32 k
    private DeviceBuffer topLogprobs; // f32 k
    private DeviceBuffer tokenLogprob; // f32 1
    private int[] ids = new int[0];
    private boolean closed;

    CudaSampler(CudaDevice device, CudaStream stream, LlmKernels kernels, int vocab, int slots) {
        this.device = device;
        this.stream = stream;
        this.kernels = kernels;
        this.vocab = vocab;
        this.slots = new Slot[slots];
        this.settings = new Staging(device, stream, "sampler-settings");
        this.penaltyLists = new Staging(device, stream, "sampler-penalties");
        this.oneToken = new Staging(device, stream, "sampler-token");
    }

    @Override
    public int slots() {
        return slots.length;
    }

    @Override
    public void open(int slot, SamplingParams params, long seed, int[] tokens, int promptLen) {
        slots[slot] = new Slot(params, vocab, seed, tokens, promptLen);
    }

    @Override
    public void close(int slot) {
        slots[slot] = null;
    }

    private Slot slot(int s) {
        Slot x = slots[s];
        if (x == null) {
            throw new IllegalStateException("sampling slot " + s + " is empty");
        }
        return x;
    }

    @Override
    public void sample(Activation logits, int rows, int[] slotOf, int[] result) {
        CudaActivation l = (CudaActivation) logits;
        if (l.cols != vocab) {
            throw new IllegalArgumentException("logits have " + l.cols + " columns but the vocabulary is " + vocab);
        }
        if (rows > l.maxRows) {
            throw new IllegalArgumentException(rows + " rows exceed the logits' " + l.maxRows);
        }
        // settings: invT f32 | topK i32 | topP f32 | minP f32 | (pad to 8) seeds i64 | steps i64
        long seedsAt = align8(16L * rows);
        long bytes = seedsAt + 16L * rows;
        ByteBuffer h = settings.begin(bytes);
        boolean anyPenalties = false;
        int listed = 0;
        for (int i = 0; i < rows; i++) {
            Slot s = slot(slotOf[i]);
            SamplingParams p = s.params;
            h.putFloat(4 * i, p.greedy() ? 0f : (float) (1.0 / p.temperature()));
            h.putInt(4 * (rows + i), p.topK());
            h.putFloat(4 * (2 * rows + i), (float) p.topP());
            h.putFloat(4 * (3 * rows + i), (float) p.minP());
            h.putLong((int) (seedsAt + 8L * i), s.seed);
            h.putLong((int) (seedsAt + 8L * (rows + i)), s.drawn);
            if (s.penalties) {
                anyPenalties = true;
                listed += s.numDistinct;
            }
        }
        DeviceBuffer d = settings.commit(bytes);
        DeviceBuffer input = l.buffer;
        if (anyPenalties) {
            input = penalise(l, rows, slotOf, listed);
        }
        if (out == null || out.bytes() < 4L * rows) {
            if (out != null) {
                out.close();
            }
            out = device.allocate(4L * Math.max(rows, 64), "sampled-ids");
        }
        kernels.sample(stream, out, input, rows, vocab, d.slice(0, 4L * rows), d.slice(4L * rows, 4L * rows),
                d.slice(8L * rows, 4L * rows), d.slice(12L * rows, 4L * rows), d.slice(seedsAt, 8L * rows),
                d.slice(seedsAt + 8L * rows, 8L * rows));
        if (ids.length < rows) {
            ids = new int[Math.max(rows, 64)];
        }
        out.copyTo(ids);
        for (int i = 0; i < rows; i++) {
            int t = ids[i];
            if (t < 0 || t >= vocab) {
                throw new IllegalStateException("the sampler returned token " + t + " for row " + i
                        + ", outside the vocabulary [0, " + vocab + "); the logits row may hold NaN");
            }
            result[i] = t;
            Slot s = slots[slotOf[i]];
            s.record(t, true);
            s.drawn++;
        }
    }

    /** Copies the logits and applies each row's penalties to the copy. */
    private DeviceBuffer penalise(CudaActivation l, int rows, int[] slotOf, int listed) {
        long need = 4L * rows * vocab;
        if (penalised == null || penalised.bytes() < need) {
            if (penalised != null) {
                penalised.close();
            }
            penalised = device.allocate(need, "penalised-logits");
        }
        penalised.copyFromAsync(l.buffer, 0, 0, need, stream);
        // rowStart i32 (rows + 1) | tokens i32 | counts i32 | repetition f32 | presence f32 | frequency f32
        int n = Math.max(1, listed);
        long tokensAt = 4L * (rows + 1);
        long countsAt = tokensAt + 4L * n;
        long repAt = countsAt + 4L * n;
        long bytes = repAt + 12L * rows;
        ByteBuffer h = penaltyLists.begin(bytes);
        int j = 0;
        for (int i = 0; i < rows; i++) {
            h.putInt(4 * i, j);
            Slot s = slots[slotOf[i]];
            SamplingParams p = s.params;
            h.putFloat((int) (repAt + 4L * i), s.penalties ? (float) p.repetitionPenalty() : 1f);
            h.putFloat((int) (repAt + 4L * (rows + i)), s.penalties ? (float) p.presencePenalty() : 0f);
            h.putFloat((int) (repAt + 4L * (2 * rows + i)), s.penalties ? (float) p.frequencyPenalty() : 0f);
            if (s.penalties) {
                for (int k = 0; k < s.numDistinct; k++) {
                    int t = s.distinct[k];
                    h.putInt((int) (tokensAt + 4L * j), t);
                    h.putInt((int) (countsAt + 4L * j), s.outputCounts[t]);
                    j++;
                }
            }
        }
        h.putInt(4 * rows, j);
        DeviceBuffer d = penaltyLists.commit(bytes);
        kernels.applyPenalties(stream, penalised, rows, vocab, d.slice(0, 4L * (rows + 1)), d.slice(tokensAt, 4L * n),
                d.slice(countsAt, 4L * n), d.slice(repAt, 4L * rows), d.slice(repAt + 4L * rows, 4L * rows),
                d.slice(repAt + 8L * rows, 4L * rows));
        return penalised;
    }

    @Override
    public TokenLogprobs logprobs(Activation logits, int row, int token, int k) {
        CudaActivation l = (CudaActivation) logits;
        if (row < 0 || row >= l.maxRows) {
            throw new IllegalArgumentException("row " + row + " is outside the logits' " + l.maxRows + " rows");
        }
        if (token < 0 || token >= vocab) {
            throw new IllegalArgumentException("token " + token + " is outside the vocabulary [0, " + vocab + ")");
        }
        DeviceBuffer rowLogits = l.buffer.slice(4L * row * vocab, 4L * vocab);
        if (k < 1 || k > SamplingParams.MAX_LOGPROBS) {
            throw new IllegalArgumentException("logprobs=" + k + " must be in [1, " + SamplingParams.MAX_LOGPROBS + "]");
        }
        if (topIds == null) {
            topIds = device.allocate(4L * SamplingParams.MAX_LOGPROBS, "top-logprob-ids");
            topLogprobs = device.allocate(4L * SamplingParams.MAX_LOGPROBS, "top-logprobs");
            tokenLogprob = device.allocate(4, "token-logprob");
        }
        ByteBuffer h = oneToken.begin(4);
        h.putInt(0, token);
        DeviceBuffer t = oneToken.commit(4);
        kernels.topLogprobs(stream, topIds, topLogprobs, rowLogits, 1, vocab, k);
        kernels.tokenLogprobs(stream, tokenLogprob, rowLogits, t, 1, vocab);
        int[] top = new int[k];
        topIds.copyTo(top);
        float[] topL = new float[k];
        topLogprobs.copyTo(topL, 0, k, 0);
        float[] own = new float[1];
        tokenLogprob.copyTo(own, 0, 1, 0);
        return new TokenLogprobs(token, own[0], top, topL);
    }

    private static long align8(long v) {
        return (v + 7) & ~7L;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Arrays.fill(slots, null);
        for (DeviceBuffer b : new DeviceBuffer[] {out, penalised, topIds, topLogprobs, tokenLogprob}) {
            if (b != null) {
                b.close();
            }
        }
        settings.close();
        penaltyLists.close();
        oneToken.close();
    }
}
