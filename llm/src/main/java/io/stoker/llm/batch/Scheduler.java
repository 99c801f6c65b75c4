package io.stoker.llm.batch;

import io.stoker.llm.kv.BlockAllocator;
import io.stoker.llm.model.ForwardBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/**
 * Continuous batching in the style of vLLM's v1 scheduler: there is no prefill or decode phase, only sequences
 * whose computed tokens catch up with their known tokens. Each step:
 * <ol>
 *   <li>running sequences, oldest first, get their uncomputed tokens (1 when decoding, the rest of the prompt when
 *       prefilling, in chunks) while the token budget lasts;</li>
 *   <li>when a sequence needs a KV block and none is free, the newest running sequence is preempted: its blocks are
 *       freed and it goes back to the front of the queue to be recomputed later;</li>
 *   <li>waiting sequences are admitted first-come first-served while budget, sequence slots and blocks last.</li>
 * </ol>
 * The result is an immutable {@link StepPlan}.
 *
 * <p>Thread-safety: engine thread only.
 */
final class Scheduler {
    private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);

    private final BlockAllocator blocks;
    private final int blockSize;
    private final int maxBatchTokens;
    private final int maxNumSeqs;
    private final Deque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private long preemptionCount;

    Scheduler(int numBlocks, int blockSize, int maxBatchTokens, int maxNumSeqs) {
        this.blocks = new BlockAllocator(numBlocks);
        this.blockSize = blockSize;
        this.maxBatchTokens = maxBatchTokens;
        this.maxNumSeqs = maxNumSeqs;
    }

    void add(Sequence s) {
        waiting.addLast(s);
    }

    boolean hasWork() {
        return !waiting.isEmpty() || !running.isEmpty();
    }

    int running() {
        return running.size();
    }

    int waiting() {
        return waiting.size();
    }

    long preemptions() {
        return preemptionCount;
    }

    int freeBlocks() {
        return blocks.freeBlocks();
    }

    int totalBlocks() {
        return blocks.totalBlocks();
    }

    /** Removes every sequence (waiting and running), freeing their blocks; for shutdown. */
    List<Sequence> drain() {
        List<Sequence> all = new ArrayList<>(running);
        all.addAll(waiting);
        for (Sequence s : running) {
            release(s);
        }
        running.clear();
        waiting.clear();
        return all;
    }

    /** Drops waiting and running sequences whose future is already done (cancelled by the caller), freeing blocks. */
    void removeAbandoned() {
        waiting.removeIf(s -> s.result.isDone());
        for (int i = running.size() - 1; i >= 0; i--) {
            Sequence s = running.get(i);
            if (s.result.isDone()) {
                running.remove(i);
                release(s);
            }
        }
    }

    /** Frees a finished sequence's blocks. */
    void finish(Sequence s) {
        running.remove(s);
        release(s);
    }

    StepPlan schedule() {
        int budget = maxBatchTokens;
        List<Sequence> picked = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        List<Long> preempted = new ArrayList<>();
        for (int i = 0; i < running.size() && budget > 0; i++) {
            Sequence s = running.get(i);
            int n = Math.min(s.length - s.computed, budget);
            boolean ok = true;
            while (!ensureBlocks(s, s.computed + n)) {
                Sequence victim = running.get(running.size() - 1);
                preempt(victim);
                preempted.add(victim.id);
                if (victim == s) {
                    ok = false;
                    break;
                }
            }
            if (!ok) {
                break;
            }
            picked.add(s);
            counts.add(n);
            budget -= n;
        }
        while (budget > 0 && !waiting.isEmpty() && picked.size() < maxNumSeqs) {
            Sequence s = waiting.peekFirst();
            int n = Math.min(s.length - s.computed, budget);
            if (!ensureBlocks(s, s.computed + n)) {
                release(s);
                break; // wait for blocks; first come, first served
            }
            waiting.pollFirst();
            s.running = true;
            running.add(s);
            picked.add(s);
            counts.add(n);
            budget -= n;
        }
        return build(picked, counts, preempted);
    }

    private StepPlan build(List<Sequence> picked, List<Integer> counts, List<Long> preempted) {
        int total = 0;
        for (int c : counts) {
            total += c;
        }
        int[] tokens = new int[total];
        int[] positions = new int[total];
        int[] tokenSeq = new int[total];
        int[][] tables = new int[picked.size()][];
        List<StepPlan.Scheduled> sched = new ArrayList<>(picked.size());
        int[] logitTokens = new int[picked.size()];
        int nLogits = 0;
        int t = 0;
        for (int i = 0; i < picked.size(); i++) {
            Sequence s = picked.get(i);
            int n = counts.get(i);
            tables[i] = Arrays.copyOf(s.blocks, s.numBlocks);
            for (int j = 0; j < n; j++) {
                tokens[t] = s.tokens[s.computed + j];
                positions[t] = s.computed + j;
                tokenSeq[t] = i;
                t++;
            }
            boolean sample = s.computed + n == s.length;
            int row = -1;
            if (sample) {
                row = nLogits;
                logitTokens[nLogits++] = t - 1;
            }
            sched.add(new StepPlan.Scheduled(s, s.computed, n, row));
        }
        ForwardBatch b = new ForwardBatch(total, tokens, positions, tokenSeq, tables,
                Arrays.copyOf(logitTokens, nLogits));
        return new StepPlan(b, List.copyOf(sched), List.copyOf(preempted));
    }

    /** Allocates blocks so that positions {@code [0, upTo)} have storage; false (nothing leaked) when out. */
    private boolean ensureBlocks(Sequence s, int upTo) {
        int need = (upTo + blockSize - 1) / blockSize;
        while (s.numBlocks < need) {
            int b = blocks.allocate();
            if (b == BlockAllocator.NONE) {
                return false;
            }
            s.addBlock(b);
        }
        return true;
    }

    private void preempt(Sequence s) {
        running.remove(s);
        release(s);
        s.computed = 0;
        s.running = false;
        s.preemptions++;
        preemptionCount++;
        waiting.addFirst(s);
        LOG.debug("preempted sequence {} ({} tokens) for lack of KV blocks; it will be recomputed", s.id, s.length);
    }

    private void release(Sequence s) {
        for (int i = 0; i < s.numBlocks; i++) {
            blocks.release(s.blocks[i]);
        }
        s.numBlocks = 0;
    }
}
