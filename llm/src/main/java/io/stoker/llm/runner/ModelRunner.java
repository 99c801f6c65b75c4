package io.stoker.llm.runner;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.backend.Activation;
import io.stoker.llm.backend.Backend;
import io.stoker.llm.backend.Backends;
import io.stoker.llm.backend.TokenSampler;
import io.stoker.llm.kv.KvCache;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.model.Partition;
import io.stoker.llm.model.llama.LlamaConfig;
import io.stoker.llm.model.llama.LlamaModel;
import io.stoker.llm.sample.TokenLogprobs;
import io.stoker.llm.tensor.DType;
import io.stoker.runtime.channel.IdleKind;
import io.stoker.runtime.comm.Communicator;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Executes {@link StepPlan}s: owns a backend, the model (one {@link Partition} of it), its KV cache and a sampler,
 * and keeps per running request what the plan sends once (sampling state, block table). The same class serves a
 * whole model on one worker, a tensor-parallel shard (every rank samples the same all-gathered logits with the same
 * seeds, so all ranks agree) and a pipeline stage (only the last stage samples).
 *
 * <p>Only token ids, and logprobs where a request asks, leave the runner; logits stay in the backend.
 *
 * <p>Thread-safety: one thread (the engine's, or the worker actor's) calls it.
 */
public final class ModelRunner implements AutoCloseable {
    /**
     * @param numBlocks KV blocks (the scheduler's pool size; equal on every worker)
     * @param blockSize tokens per KV block
     * @param maxTokens most tokens one step computes
     * @param maxSeqs   most requests running at once (sampling slots)
     * @param threads   CPU threads for the backend
     * @param kvDtype   KV cache elements: F32 or F16
     * @param backend   backend name ({@code cpu}, {@code cuda}, {@code cuda:ADDRESS}; see {@link Backends#create})
     * @param idle      how the backend's threads wait between kernels
     */
    public record Config(int numBlocks, int blockSize, int maxTokens, int maxSeqs, int threads, DType kvDtype,
                         String backend, IdleKind idle) implements java.io.Serializable {
    }

    /** A running request's state on this runner. */
    private static final class Request {
        final int slot;
        final int logprobs;
        int[] table = new int[8];
        int numBlocks;

        Request(int slot, int logprobs) {
            this.slot = slot;
            this.logprobs = logprobs;
        }

        void append(int[] blocks) {
            if (numBlocks + blocks.length > table.length) {
                table = Arrays.copyOf(table, Math.max(2 * table.length, numBlocks + blocks.length));
            }
            System.arraycopy(blocks, 0, table, numBlocks, blocks.length);
            numBlocks += blocks.length;
        }
    }

    private final Backend backend;
    private final KvCache cache;
    private final LlamaModel model;
    private final TokenSampler sampler; // null on pipeline stages before the last
    private final int hidden;
    private final Map<Long, Request> requests = new HashMap<>();
    private final int[] freeSlots;
    private int freeTop;

    public ModelRunner(LoadedModel m, Partition part, Communicator comm, Config cfg) {
        this(m, part, comm, cfg, Backends.create(cfg.backend(), cfg.threads(), cfg.idle()));
    }

    /**
     * A runner on a backend the caller created (e.g. a CUDA backend on a device the caller opened with its own
     * settings); the runner owns it from now on and closes it, also when this constructor fails.
     */
    public ModelRunner(LoadedModel m, Partition part, Communicator comm, Config cfg, Backend be) {
        LlamaConfig c = m.config();
        try {
            int kvHeads = c.numKeyValueHeads() / part.worldSize();
            this.cache = be.createKvCache(part.firstLayer(), part.endLayer() - part.firstLayer(), cfg.numBlocks(),
                    cfg.blockSize(), kvHeads, c.headDim(), cfg.kvDtype());
            this.model = new LlamaModel(c, m.tensors(), be, part, comm, cache, cfg.maxTokens());
            this.sampler = part.last() ? be.createSampler(c.vocabSize(), cfg.maxSeqs()) : null;
        } catch (RuntimeException | Error e) {
            be.close();
            throw e;
        }
        this.backend = be;
        this.hidden = c.hiddenSize();
        this.freeSlots = new int[cfg.maxSeqs()];
        for (int i = 0; i < freeSlots.length; i++) {
            freeSlots[i] = freeSlots.length - 1 - i;
        }
        this.freeTop = freeSlots.length;
    }

    public LlamaModel model() {
        return model;
    }

    public Backend backend() {
        return backend;
    }

    public int numBlocks() {
        return cache.numBlocks();
    }

    /** Runs the whole stack (single worker or tensor-parallel rank) and samples. */
    public RunnerOutput execute(StepPlan plan) {
        ForwardBatch b = prepare(plan);
        if (b == null) {
            return empty(plan);
        }
        return sample(plan, b, model.forward(b, null));
    }

    /** A pipeline stage before the last: its layers; returns the hidden states {@code (tokens, hidden)} on the host. */
    public float[] executeStage(StepPlan plan, float[] hiddenIn) {
        ForwardBatch b = prepare(plan);
        if (b == null) {
            return new float[0];
        }
        Activation h = model.forward(b, hiddenIn);
        float[] out = new float[b.numTokens() * hidden];
        backend.copyToHost(h, b.numTokens(), out, 0);
        return out;
    }

    /**
     * A pipeline stage before the last whose hidden states stay in the backend: {@code fillInput} writes the previous
     * stage's output into the input activation (ignored by the first stage).
     *
     * @return the hidden states {@code (plan.numTokens(), hidden)}, owned by the model and overwritten by the next
     * call; null when the plan schedules nothing
     */
    public Activation executeStageInBackend(StepPlan plan, java.util.function.Consumer<Activation> fillInput) {
        ForwardBatch b = prepare(plan);
        return b == null ? null : model.forwardFrom(b, fillInput);
    }

    /** The last pipeline stage with its input filled in the backend (see {@link #executeStageInBackend}). */
    public RunnerOutput executeLastStageInBackend(StepPlan plan, java.util.function.Consumer<Activation> fillInput) {
        ForwardBatch b = prepare(plan);
        if (b == null) {
            return empty(plan);
        }
        return sample(plan, b, model.forwardFrom(b, fillInput));
    }

    /** The last pipeline stage: its layers, the LM head, and sampling. */
    public RunnerOutput executeLastStage(StepPlan plan, float[] hiddenIn) {
        ForwardBatch b = prepare(plan);
        if (b == null) {
            return empty(plan);
        }
        return sample(plan, b, model.forward(b, hiddenIn));
    }

    /**
     * Diagnostics and tests: runs a raw batch (its own block tables, no request state) and copies the logits of its
     * logit tokens to the host ({@code (logitTokens, vocab)}), or, on a pipeline stage before the last, the hidden
     * states. Not the serving path: a step returns sampled ids only.
     */
    public float[] forwardToHost(ForwardBatch b, float[] hiddenIn) {
        Activation a = model.forward(b, hiddenIn);
        int rows = model.partition().last() ? b.logitTokens().length : b.numTokens();
        float[] out = new float[rows * a.cols()];
        backend.copyToHost(a, rows, out, 0);
        return out;
    }

    // ------------------------------------------------------------------------------------------ plan

    /** Applies the plan's bookkeeping and builds its forward batch; null when nothing is scheduled. */
    private ForwardBatch prepare(StepPlan plan) {
        for (long id : plan.finished()) {
            Request r = requests.remove(id);
            if (r != null) {
                release(r);
            }
        }
        for (NewRequest n : plan.newRequests()) {
            Request old = requests.remove(n.id());
            if (old != null) {
                release(old);
            }
            if (freeTop == 0) {
                throw new IllegalStateException("no sampling slot left for request " + n.id() + ": more than "
                        + freeSlots.length + " requests running (maxNumSeqs)");
            }
            Request r = new Request(freeSlots[--freeTop], n.params().logprobs());
            requests.put(n.id(), r);
            if (sampler != null) {
                sampler.open(r.slot, n.params(), n.seed(), n.tokens(), n.promptLen());
            }
        }
        List<ScheduledChunk> chunks = plan.chunks();
        if (chunks.isEmpty()) {
            return null;
        }
        int total = plan.numTokens();
        int[] tokens = new int[total];
        int[] positions = new int[total];
        int[] tokenSeq = new int[total];
        int[][] tables = new int[chunks.size()][];
        int[] logitTokens = new int[plan.numSamples()];
        int t = 0;
        int m = 0;
        for (int i = 0; i < chunks.size(); i++) {
            ScheduledChunk c = chunks.get(i);
            Request r = requests.get(c.id());
            if (r == null) {
                throw new IllegalStateException("step " + plan.step() + " schedules request " + c.id()
                        + ", which this runner does not know (sent as new request?)");
            }
            r.append(c.newBlocks());
            tables[i] = Arrays.copyOf(r.table, r.numBlocks);
            int[] ct = c.tokens();
            for (int j = 0; j < ct.length; j++) {
                tokens[t] = ct[j];
                positions[t] = c.start() + j;
                tokenSeq[t] = i;
                t++;
            }
            if (c.sample()) {
                logitTokens[m++] = t - 1;
            }
        }
        return new ForwardBatch(total, tokens, positions, tokenSeq, tables, logitTokens);
    }

    private RunnerOutput sample(StepPlan plan, ForwardBatch b, Activation logits) {
        int m = b.logitTokens().length;
        long[] ids = new long[m];
        int[] slots = new int[m];
        int k = 0;
        for (ScheduledChunk c : plan.chunks()) {
            if (c.sample()) {
                ids[k] = c.id();
                slots[k] = requests.get(c.id()).slot;
                k++;
            }
        }
        int[] tokens = new int[m];
        TokenLogprobs[] lps = new TokenLogprobs[m];
        if (m > 0) {
            sampler.sample(logits, m, slots, tokens);
            for (int i = 0; i < m; i++) {
                int want = requests.get(ids[i]).logprobs;
                if (want > 0) {
                    lps[i] = sampler.logprobs(logits, i, tokens[i], want);
                }
            }
        }
        return new RunnerOutput(plan.step(), ids, tokens, lps);
    }

    private static RunnerOutput empty(StepPlan plan) {
        return new RunnerOutput(plan.step(), new long[0], new int[0], new TokenLogprobs[0]);
    }

    private void release(Request r) {
        if (sampler != null) {
            sampler.close(r.slot);
        }
        freeSlots[freeTop++] = r.slot;
    }

    /** Closes the sampler and the backend (its threads and memory). */
    @Override
    public void close() {
        if (sampler != null) {
            sampler.close();
        }
        backend.close();
    }
}
