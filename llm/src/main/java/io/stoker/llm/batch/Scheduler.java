package io.stoker.llm.batch;

import io.stoker.llm.kv.BlockPool;
import io.stoker.llm.runner.NewRequest;
import io.stoker.llm.runner.RunnerOutput;
import io.stoker.llm.runner.ScheduledChunk;
import io.stoker.llm.runner.StepPlan;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Set;

/**
 * Continuous batching in the style of vLLM's v1 scheduler: there is no prefill or decode phase, only sequences
 * whose computed tokens catch up with their known tokens. {@link #schedule()}:
 * <ol>
 *   <li>running sequences, oldest first, get their uncomputed tokens (1 when decoding, the rest of the prompt when
 *       prefilling, in chunks) while the token budget lasts;</li>
 *   <li>when a sequence needs a KV block and none is free, the newest running sequence is preempted: its blocks are
 *       freed and it goes back to the front of the queue to be recomputed later;</li>
 *   <li>waiting sequences are admitted first-come first-served while budget, sequence slots and blocks last; with
 *       prefix caching, the full blocks of their known tokens already in the cache are reused and not computed.</li>
 * </ol>
 * The result is an immutable {@link StepPlan} for the model runner(s). {@link #update} closes the loop with the
 * runner's sampled tokens: it appends them, registers newly full blocks in the prefix cache, and finishes sequences
 * (EOS, stop token, stop string, max tokens, context).
 *
 * <p>Thread-safety: engine thread only.
 */
final class Scheduler {
    private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);

    /** What one {@link #update} did. */
    record Update(List<Sequence> advanced, List<Sequence> finished) {
    }

    private record Picked(Sequence seq, int start, int count, boolean sample) {
    }

    private final BlockPool blocks;
    private final int blockSize;
    private final int maxBatchTokens;
    private final int maxNumSeqs;
    private final Set<Integer> eos;
    private final Deque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private final List<Long> dropped = new ArrayList<>(); // runner state to free with the next plan
    private List<Picked> lastPicked = List.of();
    private long step;
    private long preemptionCount;
    private long promptTokensComputed;
    private long prefixCacheQueries;
    private long prefixCacheHits;

    Scheduler(int numBlocks, int blockSize, int maxBatchTokens, int maxNumSeqs, boolean prefixCaching,
              Set<Integer> eos) {
        this.blocks = new BlockPool(numBlocks, blockSize, prefixCaching);
        this.blockSize = blockSize;
        this.maxBatchTokens = maxBatchTokens;
        this.maxNumSeqs = maxNumSeqs;
        this.eos = Set.copyOf(eos);
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

    long promptTokensComputed() {
        return promptTokensComputed;
    }

    long prefixCacheQueries() {
        return prefixCacheQueries;
    }

    long prefixCacheHits() {
        return prefixCacheHits;
    }

    long evictions() {
        return blocks.evictions();
    }

    /** Removes every sequence (waiting and running), freeing their blocks; for shutdown. */
    List<Sequence> drain() {
        List<Sequence> all = new ArrayList<>(running);
        all.addAll(waiting);
        for (Sequence s : running) {
            drop(s);
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
                drop(s);
            }
        }
    }

    /** The sequences of the last plan, removed and freed (the step failed); the caller fails their futures. */
    List<Sequence> failLastPlan() {
        List<Sequence> out = new ArrayList<>();
        for (Picked p : lastPicked) {
            running.remove(p.seq());
            drop(p.seq());
            out.add(p.seq());
        }
        lastPicked = List.of();
        return out;
    }

    // ------------------------------------------------------------------------------------------ plan

    StepPlan schedule() {
        int budget = maxBatchTokens;
        List<Picked> picked = new ArrayList<>();
        for (int i = 0; i < running.size() && budget > 0; i++) {
            Sequence s = running.get(i);
            int n = Math.min(s.length - s.computed, budget);
            boolean ok = true;
            while (!ensureBlocks(s, s.computed + n)) {
                Sequence victim = running.get(running.size() - 1);
                preempt(victim);
                if (victim == s) {
                    ok = false;
                    break;
                }
            }
            if (!ok) {
                break;
            }
            picked.add(new Picked(s, s.computed, n, s.computed + n == s.length));
            budget -= n;
        }
        List<Sequence> admitted = new ArrayList<>();
        while (budget > 0 && !waiting.isEmpty() && running.size() < maxNumSeqs) {
            Sequence s = waiting.peekFirst();
            if (s.numBlocks == 0) {
                reuseCachedPrefix(s);
            }
            int n = Math.min(s.length - s.computed, budget);
            if (!ensureBlocks(s, s.computed + n)) {
                release(s);
                s.computed = 0;
                break; // wait for blocks; first come, first served
            }
            waiting.pollFirst();
            if (blocks.caching()) {
                prefixCacheQueries += (long) (s.length - 1) / blockSize * blockSize;
                prefixCacheHits += s.cachedTokens;
            }
            s.running = true;
            running.add(s);
            admitted.add(s);
            picked.add(new Picked(s, s.computed, n, s.computed + n == s.length));
            budget -= n;
        }
        return build(picked, admitted);
    }

    /** Takes the cached full blocks of {@code s}'s known tokens (all but the last token, which must be computed). */
    private void reuseCachedPrefix(Sequence s) {
        s.computed = 0;
        s.cachedTokens = 0;
        if (!blocks.caching()) {
            return;
        }
        int full = (s.length - 1) / blockSize;
        for (int i = 0; i < full; i++) {
            long h = s.blockHash(i, blockSize);
            int b = blocks.lookup(h, i == 0 ? 0 : s.blockHash(i - 1, blockSize), s.tokens, i * blockSize);
            if (b == BlockPool.NONE) {
                break;
            }
            blocks.acquire(b);
            s.addBlock(b);
        }
        s.computed = s.numBlocks * blockSize;
        s.cachedTokens = s.computed;
        s.registeredBlocks = s.numBlocks;
    }

    private StepPlan build(List<Picked> picked, List<Sequence> admitted) {
        List<NewRequest> news = new ArrayList<>();
        for (Sequence s : admitted) {
            if (!s.onRunner) {
                news.add(new NewRequest(s.id, Arrays.copyOf(s.tokens, s.length), s.prompt.length, s.params, s.seed));
                s.onRunner = true;
                s.sentBlocks = 0;
            }
        }
        List<ScheduledChunk> chunks = new ArrayList<>(picked.size());
        for (Picked p : picked) {
            Sequence s = p.seq();
            int[] newBlocks = Arrays.copyOfRange(s.blocks, s.sentBlocks, s.numBlocks);
            s.sentBlocks = s.numBlocks;
            chunks.add(new ScheduledChunk(s.id, p.start(), Arrays.copyOfRange(s.tokens, p.start(),
                    p.start() + p.count()), newBlocks, p.sample()));
            promptTokensComputed += Math.max(0, Math.min(p.start() + p.count(), s.prompt.length) - p.start());
        }
        lastPicked = List.copyOf(picked);
        List<Long> finished = List.copyOf(dropped);
        dropped.clear();
        return new StepPlan(++step, finished, news, chunks);
    }

    /** Allocates blocks so that positions {@code [0, upTo)} have storage; false (nothing leaked) when out. */
    private boolean ensureBlocks(Sequence s, int upTo) {
        int need = (upTo + blockSize - 1) / blockSize;
        while (s.numBlocks < need) {
            int b = blocks.allocate();
            if (b == BlockPool.NONE) {
                return false;
            }
            s.addBlock(b);
        }
        return true;
    }

    private void preempt(Sequence s) {
        running.remove(s);
        drop(s);
        s.computed = 0;
        s.running = false;
        s.preemptions++;
        preemptionCount++;
        waiting.addFirst(s);
        LOG.debug("preempted sequence {} ({} tokens) for lack of KV blocks; it will be recomputed", s.id, s.length);
    }

    /** Frees the blocks of {@code s} and, if the runner holds its state, tells it to forget it. */
    private void drop(Sequence s) {
        release(s);
        if (s.onRunner) {
            dropped.add(s.id);
            s.onRunner = false;
        }
    }

    /** Releases blocks last to first, so that a sequence's tail is evicted before its (more shared) prefix. */
    private void release(Sequence s) {
        for (int i = s.numBlocks - 1; i >= 0; i--) {
            blocks.release(s.blocks[i]);
        }
        s.numBlocks = 0;
        s.sentBlocks = 0;
        s.registeredBlocks = 0;
    }

    // ------------------------------------------------------------------------------------------ update

    /** Applies the runner's output of the last plan: computed tokens, sampled tokens, prefix-cache entries, finishes. */
    Update update(RunnerOutput out) {
        List<Sequence> advanced = new ArrayList<>();
        List<Sequence> finished = new ArrayList<>();
        int k = 0;
        for (Picked p : lastPicked) {
            Sequence s = p.seq();
            s.computed = p.start() + p.count();
            registerFullBlocks(s);
            if (!p.sample()) {
                continue;
            }
            if (k >= out.size() || out.ids()[k] != s.id) {
                throw new IllegalStateException("runner output " + out + " does not match the plan at request "
                        + s.id);
            }
            int token = out.tokens()[k];
            if (out.logprobs()[k] != null) {
                s.logprobs.add(out.logprobs()[k]);
            }
            k++;
            s.append(token);
            advanced.add(s);
            s.finish = finishReason(s, token);
            if (s.finish != null) {
                finished.add(s);
            }
        }
        for (Sequence s : finished) {
            running.remove(s);
            drop(s);
        }
        lastPicked = List.of();
        return new Update(advanced, finished);
    }

    /** Registers the sequence's full, computed blocks in the prefix cache. */
    private void registerFullBlocks(Sequence s) {
        if (!blocks.caching()) {
            return;
        }
        int full = Math.min(s.computed / blockSize, s.numBlocks);
        for (int i = s.registeredBlocks; i < full; i++) {
            blocks.register(s.blocks[i], s.blockHash(i, blockSize), i == 0 ? 0 : s.blockHash(i - 1, blockSize),
                    s.tokens, i * blockSize);
        }
        s.registeredBlocks = Math.max(s.registeredBlocks, full);
    }

    private FinishReason finishReason(Sequence s, int token) {
        if ((!s.params.ignoreEos() && eos.contains(token)) || s.params.stopTokenIds().contains(token)) {
            return FinishReason.STOP;
        }
        if (s.stops != null && s.stops.accept(token)) {
            return FinishReason.STOP;
        }
        if (s.outputLength() >= s.params.maxTokens() || s.length >= s.maxLen) {
            return FinishReason.LENGTH;
        }
        return null;
    }
}
