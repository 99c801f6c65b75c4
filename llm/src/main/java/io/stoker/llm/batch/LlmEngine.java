package io.stoker.llm.batch;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.backend.DeviceErrors;
import io.stoker.llm.runner.RunnerOutput;
import io.stoker.llm.runner.StepPlan;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.sample.TokenLogprobs;
import io.stoker.llm.tokenizer.Tokenizer;
import io.stoker.runtime.WaitPolicy;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.AgentTerminationException;
import org.agrona.concurrent.ManyToOneConcurrentLinkedQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The generation engine: requests come in from any thread ({@link #submit}); one engine thread runs {@link #step()}
 * in a loop. Each step plans with the {@link Scheduler} (an immutable {@link StepPlan}), runs the plan on a
 * {@link ModelExecutor} (model runners that return sampled token ids), then lets the scheduler's update finish
 * requests, and completes their futures.
 *
 * <p>The engine is an Agrona {@link Agent} ({@link #doWork} is one step), so any agent runner can drive it;
 * {@link #start()} runs it on its own {@link AgentRunner} thread, idling through the runtime's wait policy
 * ({@link WaitPolicy}: the {@link EngineConfig#idle() idle kind} mapped to an Agrona idle strategy) and woken by
 * {@link #submit}. Or call {@link #step()} /
 * {@link #runUntilIdle()} from one thread yourself.
 *
 * <p>Cancelling a returned future ({@code future.cancel(..)}) abandons the request: at its next step the engine drops
 * it and frees its KV blocks. If the step loop dies (a bug, or an {@link Error} such as out of memory), every pending
 * request fails with {@link EngineDeadException} and later submits are refused.
 *
 * <p>Thread-safety: {@link #submit} from any thread; {@link #step} from one thread at a time.
 */
public final class LlmEngine implements Agent, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LlmEngine.class);

    private final LoadedModel model;
    private final ModelExecutor executor;
    private final EngineConfig config;
    private final Scheduler scheduler;
    private final int vocab;
    private final int maxModelLen;
    private final int capacityTokens;
    private final ManyToOneConcurrentLinkedQueue<Sequence> inbox = new ManyToOneConcurrentLinkedQueue<>();
    private final AtomicLong ids = new AtomicLong();
    private final SecureRandom seeds = new SecureRandom();
    private volatile AgentRunner agentRunner;
    private volatile Thread loopThread;
    private volatile boolean closed;
    private volatile Throwable death;
    private volatile Throwable abortCause;
    private volatile long steps;
    private volatile long tokensComputed;

    public LlmEngine(LoadedModel model, ModelExecutor executor, EngineConfig config) {
        this.model = model;
        this.executor = executor;
        this.config = config;
        this.vocab = model.config().vocabSize();
        int ctx = model.config().maxPositionEmbeddings();
        this.maxModelLen = config.maxModelLen() > 0 ? Math.min(config.maxModelLen(), ctx) : ctx;
        this.capacityTokens = executor.numBlocks() * config.blockSize();
        this.scheduler = new Scheduler(executor.numBlocks(), config.blockSize(), config.maxBatchTokens(),
                config.maxNumSeqs(), config.prefixCaching(), model.eosTokenIds());
        LOG.info("engine ready: {} KV blocks of {} tokens ({} tokens, {}), prefix caching {}, context {}, {} tokens"
                        + " per step", executor.numBlocks(), config.blockSize(), capacityTokens, config.kvCacheDtype(),
                config.prefixCaching() ? "on" : "off", maxModelLen, config.maxBatchTokens());
    }

    /** An engine running the whole model on this JVM's CPU. */
    public static LlmEngine local(LoadedModel model, EngineConfig config) {
        return new LlmEngine(model, new LocalExecutor(model, config), config);
    }

    public LoadedModel model() {
        return model;
    }

    public EngineConfig config() {
        return config;
    }

    public int maxModelLen() {
        return maxModelLen;
    }

    /**
     * Queues a request. Encoding (and chat templating) runs on the caller's thread.
     *
     * @param listener called on the engine thread with each generated token id, or null
     * @throws IllegalArgumentException when the prompt is empty, has ids outside the vocabulary, or is too long for
     *                                  the context or the KV budget (the message says which and by how much), or
     *                                  stop strings are set on a model without a tokenizer
     * @throws EngineDeadException      when the step loop died earlier
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
        StopStrings stops = null;
        if (!p.stop().isEmpty()) {
            if (model.tokenizer() == null) {
                throw new IllegalArgumentException("stop strings " + p.stop() + " need a tokenizer, and model "
                        + model.location() + " has none; use stopTokenIds instead");
            }
            stops = new StopStrings(model.tokenizer(), p.stop());
        }
        long seed = p.seed() != null ? p.seed() : seeds.nextLong();
        CompletableFuture<GenerationResult> f = new CompletableFuture<>();
        int maxLen = Math.min(Math.min(maxModelLen, capacityTokens), ids.length + p.maxTokens());
        inbox.offer(new Sequence(this.ids.incrementAndGet(), ids, p, seed, listener, f, maxLen, stops));
        Thread t = loopThread;
        if (t != null) {
            LockSupport.unpark(t);
        }
        return f;
    }

    public CompletableFuture<GenerationResult> submit(GenerationRequest req) {
        return submit(req, null);
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
     * One engine step: admit new requests, plan, run the plan (forward pass and sampling), update and finish
     * requests. An error in the step fails the requests it ran (e.g. a device out-of-memory) and the engine goes on,
     * except a fatal device error ({@link DeviceErrors#isFatal}), which kills the engine.
     *
     * @return tokens computed (0 when idle)
     * @throws EngineDeadException after a fatal device error: every pending request has failed with it
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
        RunnerOutput out;
        try {
            out = executor.execute(plan);
        } catch (RuntimeException e) {
            if (DeviceErrors.isFatal(e)) {
                // the device is unusable for this process: no later step can succeed
                if (death == null) {
                    die(e);
                }
                throw new EngineDeadException("the LLM engine for " + model.location() + " died on a fatal device"
                        + " error: " + e.getMessage(), e);
            }
            List<Sequence> failed = scheduler.failLastPlan();
            LOG.error("model step failed; failing the {} requests in it", failed.size(), e);
            for (Sequence s : failed) {
                s.result.completeExceptionally(e);
            }
            return plan.numTokens();
        }
        steps++;
        tokensComputed += plan.numTokens();
        Scheduler.Update u = scheduler.update(out);
        for (Sequence s : u.advanced()) {
            if (s.listener != null) {
                TokenLogprobs lp = s.params.logprobs() > 0 && !s.logprobs.isEmpty()
                        ? s.logprobs.get(s.logprobs.size() - 1) : null;
                try {
                    s.listener.onToken(s.tokens[s.length - 1], lp);
                } catch (RuntimeException e) {
                    LOG.warn("token listener of request {} threw; ignored", s.id, e);
                }
            }
        }
        for (Sequence s : u.finished()) {
            complete(s);
        }
        return plan.numTokens();
    }

    private void complete(Sequence s) {
        Tokenizer tok = model.tokenizer();
        String text = tok == null ? "" : tok.decode(s.output(), true);
        int cut = StopStrings.cut(text, s.params.stop());
        if (cut >= 0) {
            text = text.substring(0, cut);
        }
        s.result.complete(new GenerationResult(s.prompt.clone(), s.output(), text, s.finish, List.copyOf(s.logprobs),
                s.preemptions));
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

    // ------------------------------------------------------------------------------------------ agent

    /**
     * One step, for an agent runner. A throwable from the step kills the engine (see {@link #failure()}) and ends the
     * runner.
     */
    @Override
    public int doWork() {
        if (closed) {
            throw new AgentTerminationException("engine closed");
        }
        Throwable abort = abortCause;
        if (abort != null && death == null) {
            die(abort);
            throw new AgentTerminationException(abort);
        }
        try {
            return step();
        } catch (Throwable e) {
            if (death == null) {
                die(e);
            }
            throw new AgentTerminationException(e);
        }
    }

    @Override
    public String roleName() {
        return "stoker-engine";
    }

    /**
     * Starts the step loop on a daemon thread named {@code stoker-engine} (an {@link AgentRunner} idling through
     * {@link WaitPolicy#defaults()} with {@link EngineConfig#idle()}'s kind); idempotent.
     */
    public synchronized LlmEngine start() {
        if (agentRunner != null) {
            return this;
        }
        checkUsable();
        AgentRunner r = new AgentRunner(WaitPolicy.defaults().withKind(config.idle()).newIdleStrategy(),
                t -> LOG.debug("engine agent stopped: {}", t.toString()), null, this);
        agentRunner = r;
        AgentRunner.startOnThread(r, task -> {
            Thread t = new Thread(task, "stoker-engine");
            t.setDaemon(true);
            loopThread = t;
            return t;
        });
        return this;
    }

    /**
     * Marks the engine dead after its step loop threw: every queued and running request fails at once with
     * {@link EngineDeadException}, and later submits are refused, so no caller waits on an engine that will never step
     * again. Build a new engine to continue.
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

    /**
     * Counters for diagnostics.
     *
     * @param promptTokensComputed  prompt tokens the model computed (prefill work after prefix-cache hits)
     * @param prefixCacheQueries    prompt tokens looked up in the prefix cache (full blocks of admitted requests)
     * @param prefixCacheHits       of those, tokens whose KV was reused
     * @param prefixCacheEvictions  cached blocks reused for new content
     */
    public record Stats(long steps, long tokensComputed, long preemptions, int running, int waiting, int freeBlocks,
                        int totalBlocks, long promptTokensComputed, long prefixCacheQueries, long prefixCacheHits,
                        long prefixCacheEvictions) {
    }

    /** @return counters; exact from the engine thread, approximate from others */
    public Stats stats() {
        return new Stats(steps, tokensComputed, scheduler.preemptions(), scheduler.running(), scheduler.waiting(),
                scheduler.freeBlocks(), scheduler.totalBlocks(), scheduler.promptTokensComputed(),
                scheduler.prefixCacheQueries(), scheduler.prefixCacheHits(), scheduler.evictions());
    }

    /** Stops the loop, fails pending requests, and closes the executor. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // the agent's next doWork sees `closed` and ends its runner; wait a bounded time for the step in flight
        Thread t = loopThread;
        if (t != null && t != Thread.currentThread()) {
            LockSupport.unpark(t);
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                LOG.warn("engine thread did not stop within 10 s (a step still running); closing anyway");
            }
        }
        failPending(new IllegalStateException("engine closed before the request ran"),
                new IllegalStateException("engine closed before the request finished"));
        executor.close();
    }
}
