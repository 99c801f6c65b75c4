package io.stoker.llm.runner;

import java.io.Serializable;
import java.util.List;

/**
 * What one engine step asks of the model runner(s), built by the scheduler. Immutable and serializable, so it can
 * cross to an actor in another thread or process: plain ids and numbers, no engine objects. A runner applies it in
 * order: forget {@code finished}, register {@code newRequests}, then run {@code chunks} as one forward call (batch
 * order = list order) and sample where a chunk asks.
 *
 * @param step        step number (diagnostics)
 * @param finished    requests whose state runners drop: finished, cancelled or preempted since the last step
 * @param newRequests requests that start (or restart) running this step, sent once
 * @param chunks      per scheduled request, in batch order
 */
public record StepPlan(long step, List<Long> finished, List<NewRequest> newRequests, List<ScheduledChunk> chunks)
        implements Serializable {
    private static final long serialVersionUID = 1L;

    public StepPlan {
        finished = List.copyOf(finished);
        newRequests = List.copyOf(newRequests);
        chunks = List.copyOf(chunks);
    }

    public boolean isEmpty() {
        return chunks.isEmpty();
    }

    /** @return tokens computed by this step */
    public int numTokens() {
        int n = 0;
        for (ScheduledChunk c : chunks) {
            n += c.tokens().length;
        }
        return n;
    }

    /** @return chunks that sample (one output row each, in chunk order) */
    public int numSamples() {
        int n = 0;
        for (ScheduledChunk c : chunks) {
            n += c.sample() ? 1 : 0;
        }
        return n;
    }
}
