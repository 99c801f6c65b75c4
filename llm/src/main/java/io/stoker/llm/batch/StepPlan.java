package io.stoker.llm.batch;

import io.stoker.llm.model.ForwardBatch;

import java.util.List;

/**
 * What one engine step runs, decided by the {@link Scheduler} and executed by a {@link ModelExecutor}: for each
 * scheduled sequence, which of its tokens to compute, and whether the step ends with sampling its next token.
 * Immutable.
 *
 * @param batch       the forward call (all scheduled tokens, flattened)
 * @param scheduled   per sequence, in batch order
 * @param preempted   ids of sequences preempted while planning (their KV was freed; they will be recomputed)
 */
public record StepPlan(ForwardBatch batch, List<Scheduled> scheduled, List<Long> preempted) {
    /**
     * @param seq      the sequence
     * @param start    first token computed this step (its position)
     * @param count    tokens computed this step
     * @param logitRow row of the logits output to sample from, or -1 (prefill chunk that does not reach the end)
     */
    public record Scheduled(Sequence seq, int start, int count, int logitRow) {
    }

    public boolean isEmpty() {
        return scheduled.isEmpty();
    }
}
