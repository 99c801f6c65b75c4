package io.stoker.llm.backend.cpu;

import io.stoker.llm.backend.Activation;
import io.stoker.llm.backend.TokenSampler;
import io.stoker.llm.sample.Sampler;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.sample.TokenLogprobs;

/** Sampling on the CPU: one {@link Sampler} per slot; rows are sampled in parallel on the backend's pool. */
final class CpuSampler implements TokenSampler {
    private final WorkerPool pool;
    private final int vocab;
    private final Sampler[] slots;

    CpuSampler(WorkerPool pool, int vocab, int slots) {
        this.pool = pool;
        this.vocab = vocab;
        this.slots = new Sampler[slots];
    }

    @Override
    public int slots() {
        return slots.length;
    }

    @Override
    public void open(int slot, SamplingParams params, long seed, int[] tokens, int promptLen) {
        slots[slot] = new Sampler(params, vocab, seed, tokens, promptLen);
    }

    @Override
    public void close(int slot) {
        slots[slot] = null;
    }

    @Override
    public void sample(Activation logits, int rows, int[] slotOf, int[] out) {
        CpuActivation l = (CpuActivation) logits;
        if (l.cols != vocab) {
            throw new IllegalArgumentException("logits have " + l.cols + " columns but the vocabulary is " + vocab);
        }
        pool.parallelFor(rows, (i, worker) -> {
            Sampler s = slots[slotOf[i]];
            if (s == null) {
                throw new IllegalStateException("sampling slot " + slotOf[i] + " is empty");
            }
            out[i] = s.sample(l.data, i * vocab);
        });
        for (int i = 0; i < rows; i++) {
            slots[slotOf[i]].accept(out[i]);
        }
    }

    @Override
    public TokenLogprobs logprobs(Activation logits, int row, int token, int k) {
        CpuActivation l = (CpuActivation) logits;
        return Sampler.logprobs(l.data, row * vocab, vocab, token, k);
    }

    @Override
    public void close() {
        java.util.Arrays.fill(slots, null);
    }
}
