package io.stoker.llm.batch;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.sample.Sampler;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.sample.TokenLogprobs;
import io.stoker.llm.tokenizer.Tokenizer;
import org.agrona.concurrent.ManyToOneConcurrentLinkedQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The generation engine: requests come in from any thread ({@link #submit}); one engine thread runs
 * {@link #step()} in a loop (an Agent-style {@code doWork}: returns the work done), each step planning with the
 * {@link Scheduler}, running the plan on a {@link ModelExecutor}, sampling, and completing finished requests.
 *
 * <p>Use {@link #start()} to run the loop on a dedicated daemon thread, or call {@link #step()} / {@link #runUntilIdle()}
 * from one thread yourself.
 *
 * <p>Cancelling a returned future ({@code future.cancel(..)}) abandons the request: at its next step the engine drops
 * it and frees its KV blocks.
 *
 * <p>Thread-safety: {@link #submit} from any thread; {@link #step} from one thread at a time.
 */
public final class LlmEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LlmEngine.class);

    private final LoadedModel model;
    private final ModelExecutor executor;
    private final EngineConfig config;
    private final Scheduler scheduler;
    private final int vocab;
    private final int maxModelLen;
    private final int capacityTokens;
    private final Set<Integer> eos;
    private final ManyToOneConcurrentLinkedQueue<Sequence> inbox = new ManyToOneConcurrentLinkedQueue<>();
    private final AtomicLong ids = new AtomicLong();
    private final SecureRandom seeds = new SecureRandom();
    private volatile Thread loopThread;
    private volatile boolean closed;
    private volatile Throwable death;
    private volatile Throwable abortCause;
    private long steps;
    private long tokensComputed;

    public LlmEngine(LoadedModel model, ModelExecutor executor, EngineConfig config) {
        this.model = model;
        this.executor = executor;
        this.config = config;
        this.vocab = model.config().vocabSize();
        int ctx = model.config().maxPositionEmbeddings();
        this.maxModelLen = config.maxModelLen() > 0 ? Math.min(config.maxModelLen(), ctx) : ctx;
        this.capacityTokens = executor.numBlocks() * config.blockSize();
        this.scheduler = new Scheduler(executor.numBlocks(), config.blockSize(), config.maxBatchTokens(),
                config.maxNumSeqs());
        this.eos = model.eosTokenIds();
        LOG.info("engine ready: {} KV blocks of {} tokens ({} tokens), context {}, {} tokens per step",
                executor.numBlocks(), config.blockSize(), capacityTokens, maxModelLen, config.maxBatchTokens());
    }

    /** An engine running the whole model on this JVM's CPU. */
    public static LlmEngine local(LoadedModel model, EngineConfig config) {
        return new LlmEngine(model, new LocalExecutor(model, config), config);
    }

    public LoadedModel model() {
        return model;
    }

    public int maxModelLen() {
        return maxModelLen;
    }

    /**
     * Queues a request. Encoding (and chat templating) runs on the caller's thread.
     *
     * @throws IllegalArgumentException when the prompt is empty, has ids outside the vocabulary, or is too long for
     *                                  the context or the KV budget (the message says which and by how much)
     */
    public CompletableFuture<GenerationResult> submit(GenerationRequest req, TokenListener listener) {
        checkUsable();
        int[] ids = promptIds(req);
        if (ids.length == 0) {
            throw new IllegalArgumentException("prompt is empty; give at least one token");
        }
        for (int id : ids) {
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("prompt token id " + id + " is outside the vocabulary [0, " + vocab
                        + ")");
            }
        }
        if (ids.length >= maxModelLen) {
            throw new IllegalArgumentException("prompt has " + ids.length + " tokens but the context length is "
                    + maxModelLen + " (max_position_embeddings / maxModelLen); shorten the prompt to at most "
                    + (maxModelLen - 1) + " tokens");
        }
        if (ids.length >= capacityTokens) {
            throw new IllegalArgumentException("prompt has " + ids.length + " tokens but the KV cache holds "
                    + capacityTokens + " (kvCacheBytes=" + config.kvCacheBytes() + "); raise the KV budget");
        }
        SamplingParams p = req.params();
        long seed = p.seed() != null ? p.seed() : seeds.nextLong();
        CompletableFuture<GenerationResult> f = new CompletableFuture<>();
        int maxLen = Math.min(Math.min(maxModelLen, capacityTokens), ids.length + p.maxTokens());
        Sequence s = new Sequence(ids(), ids, new Sampler(p, vocab, seed, ids), listener, f, maxLen);
        inbox.offer(s);
        Thread t = loopThread;
        if (t != null) {
            LockSupport.unpark(t);
        }
        return f;
    }

    public CompletableFuture<GenerationResult> submit(GenerationRequest req) {
        return submit(req, null);
    }

    private long ids() {
        return ids.incrementAndGet();
    }

    /** @return the request's prompt as token ids */
    public int[] promptIds(GenerationRequest req) {
        if (req.promptIds() != null) {
            return req.promptIds().clone();
        }
        Tokenizer tok = model.requireTokenizer();
        if (req.prompt() != null) {
            return tok.encode(req.prompt(), true);
        }
        if (model.chatTemplate() == null) {
            throw new IllegalArgumentException("model " + model.location() + " has no chat template"
                    + " (tokenizer_config.json chat_template); send a plain prompt instead");
        }
        return tok.encode(model.chatTemplate().render(req.messages(), true), false);
    }

    /**
     * One engine step: admit new requests, plan, run the model, sample, finish requests.
     *
     * @return tokens computed (0 when idle)
     */
    public int step() {
        Sequence in;
        while ((in = inbox.poll()) != null) {
            if (!in.result.isDone()) {
                scheduler.add(in);
            }
        }
        scheduler.removeAbandoned();
        if (!scheduler.hasWork()) {
            return 0;
        }
        StepPlan plan = scheduler.schedule();
        if (plan.isEmpty()) {
            return 0;
        }
        float[] logits;
        try {
            logits = executor.execute(plan.batch());
        } catch (RuntimeException e) {
            failAll(plan, e);
            return plan.batch().numTokens();
        }
        steps++;
        tokensComputed += plan.batch().numTokens();
        List<Sequence> done = new ArrayList<>();
        for (StepPlan.Scheduled sc : plan.scheduled()) {
            Sequence s = sc.seq();
            s.computed += sc.count();
            if (sc.logitRow() < 0) {
                continue;
            }
            int off = sc.logitRow() * vocab;
            int token = s.sampler.sample(logits, off);
            SamplingParams p = s.sampler.params();
            TokenLogprobs lp = null;
            if (p.logprobs() > 0) {
                lp = s.sampler.logprobs(logits, off, token, p.logprobs());
                s.logprobs.add(lp);
            }
            s.sampler.accept(token);
            s.append(token);
            if (s.listener != null) {
                try {
                    s.listener.onToken(token, lp);
                } catch (RuntimeException e) {
                    LOG.warn("token listener of request {} threw; ignored", s.id, e);
                }
            }
            FinishReason why = finishReason(s, token, p);
            if (why != null) {
                complete(s, why);
                done.add(s);
            }
        }
        for (Sequence s : done) {
            scheduler.finish(s);
        }
        return plan.batch().numTokens();
    }

    private FinishReason finishReason(Sequence s, int token, SamplingParams p) {
        if ((!p.ignoreEos() && eos.contains(token)) || p.stopTokenIds().contains(token)) {
            return FinishReason.STOP;
        }
        if (!p.stop().isEmpty() && stopIndex(text(s), p) >= 0) {
            return FinishReason.STOP;
        }
        if (s.outputLength() >= p.maxTokens() || s.length >= s.maxLen) {
            return FinishReason.LENGTH;
        }
        return null;
    }

    private String text(Sequence s) {
        Tokenizer tok = model.tokenizer();
        return tok == null ? "" : tok.decode(s.output(), true);
    }

    private static int stopIndex(String text, SamplingParams p) {
        int best = -1;
        for (String stop : p.stop()) {
            int i = text.indexOf(stop);
            if (i >= 0 && (best < 0 || i < best)) {
                best = i;
            }
        }
        return best;
    }

    private void complete(Sequence s, FinishReason why) {
        String text = text(s);
        int cut = stopIndex(text, s.sampler.params());
        if (cut >= 0) {
            text = text.substring(0, cut);
        }
        s.result.complete(new GenerationResult(s.prompt.clone(), s.output(), text, why, List.copyOf(s.logprobs),
                s.preemptions));
    }

    private void failAll(StepPlan plan, RuntimeException e) {
        LOG.error("model step failed; failing the {} requests in it", plan.scheduled().size(), e);
        for (StepPlan.Scheduled sc : plan.scheduled()) {
            sc.seq().result.completeExceptionally(e);
            scheduler.finish(sc.seq());
        }
    }

    /** Steps until no request is waiting or running (for single-threaded use). */
    public void runUntilIdle() {
        while (true) {
            step();
            if (inbox.isEmpty() && !scheduler.hasWork()) {
                return;
            }
        }
    }

    /** Starts the engine loop on a daemon thread named {@code stoker-engine}; idempotent. */
    public synchronized LlmEngine start() {
        if (loopThread != null) {
            return this;
        }
        Thread t = new Thread(this::loop, "stoker-engine");
        t.setDaemon(true);
        loopThread = t;
        t.start();
        return this;
    }

    private void loop() {
        while (!closed) {
            Throwable abort = abortCause;
            if (abort != null) {
                die(abort);
                return;
            }
            int work;
            try {
                work = step();
            } catch (Throwable e) {
                die(e);
                return;
            }
            if (work == 0) {
                LockSupport.parkNanos(200_000);
            }
        }
    }

    /**
     * Marks the engine dead after its step loop threw (a bug, or an {@link Error} such as out of memory): every
     * queued and running request fails at once with {@link EngineDeadException}, and later submits are refused, so
     * no caller waits on an engine that will never step again. Build a new engine to continue.
     */
    private void die(Throwable cause) {
        death = cause;
        LOG.error("engine step loop died; failing every pending request", cause);
        EngineDeadException e = new EngineDeadException("the LLM engine for " + model.location() + " died: " + cause,
                cause);
        failPending(e, e);
    }

    private void failPending(RuntimeException queued, RuntimeException running) {
        Sequence s;
        while ((s = inbox.poll()) != null) {
            s.result.completeExceptionally(queued);
        }
        for (Sequence p : scheduler.drain()) {
            p.result.completeExceptionally(running);
        }
    }

    /**
     * Kills the engine from outside (a watchdog, a fatal device error): the step loop stops before its next step and
     * every pending request fails with {@link EngineDeadException} carrying {@code cause}, as if the loop had thrown
     * it. Requires the loop started with {@link #start()}.
     */
    public void abort(Throwable cause) {
        abortCause = cause;
        Thread t = loopThread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** @return the error that killed the step loop, or null while the engine is alive */
    public Throwable failure() {
        return death;
    }

    /** @return true until the engine is closed or its step loop died */
    public boolean isUsable() {
        return !closed && death == null && abortCause == null;
    }

    private void checkUsable() {
        Throwable d = death;
        if (d != null) {
            throw new EngineDeadException("the LLM engine for " + model.location() + " died earlier (" + d
                    + "); build a new engine", d);
        }
        if (closed) {
            throw new IllegalStateException("engine is closed");
        }
    }

    /** Counters for diagnostics. */
    public record Stats(long steps, long tokensComputed, long preemptions, int running, int waiting, int freeBlocks,
                        int totalBlocks) {
    }

    /** @return counters; exact from the engine thread, approximate from others */
    public Stats stats() {
        return new Stats(steps, tokensComputed, scheduler.preemptions(), scheduler.running(), scheduler.waiting(),
                scheduler.freeBlocks(), scheduler.totalBlocks());
    }

    /** Stops the loop, fails pending requests, and closes the executor. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Thread t = loopThread;
        if (t != null) {
            LockSupport.unpark(t);
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        failPending(new IllegalStateException("engine closed before the request ran"),
                new IllegalStateException("engine closed before the request finished"));
        executor.close();
    }
}
