package io.stoker.llm.model.llama;

import io.stoker.llm.backend.Activation;
import io.stoker.llm.backend.Backend;
import io.stoker.llm.kv.KvCache;
import io.stoker.llm.load.ModelFormatException;
import io.stoker.llm.load.TensorStore;
import io.stoker.llm.model.ColumnParallelLinear;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.model.Partition;
import io.stoker.llm.model.RowParallelLinear;
import io.stoker.llm.tensor.Tensor;
import io.stoker.runtime.comm.Communicator;

/**
 * The Llama family (Llama 2/3, Mistral, Qwen2, SmolLM): RMSNorm, rotary embeddings, grouped-query attention
 * over a paged KV cache, SwiGLU MLP. One instance runs a {@link Partition} of the model: a tensor-parallel shard
 * (heads and FFN columns split, see {@link ColumnParallelLinear} / {@link RowParallelLinear}) and/or a pipeline
 * stage (a range of layers).
 *
 * <p>Read top to bottom: {@link LlamaConfig} (separate file), {@link Weights}, {@link State}, then
 * {@link #forward}, which follows transformers' {@code modeling_llama.py}. Every step of it is a {@link Backend} op
 * over backend-owned {@link Activation}s, so the same code runs on the CPU and on a device.
 *
 * <p>Thread-safety: one thread calls {@link #forward} at a time (the owning engine or actor thread).
 */
public final class LlamaModel {

    // ------------------------------------------------------------------------------------------ weights

    /** Weights with Hugging Face names, prepared by the backend; shapes are {@code [out_features, in_features]}. */
    static final class Weights {
        Tensor embedTokens;                // model.embed_tokens.weight            (vocab, hidden)
        Tensor[] inputLayernorm;           // model.layers.N.input_layernorm.weight (hidden)
        ColumnParallelLinear[] qProj;      // model.layers.N.self_attn.q_proj.weight (heads * head_dim, hidden) [+ bias]
        ColumnParallelLinear[] kProj;      // model.layers.N.self_attn.k_proj.weight (kv_heads * head_dim, hidden)
        ColumnParallelLinear[] vProj;      // model.layers.N.self_attn.v_proj.weight (kv_heads * head_dim, hidden)
        RowParallelLinear[] oProj;         // model.layers.N.self_attn.o_proj.weight (hidden, heads * head_dim)
        Tensor[] postAttentionLayernorm;   // model.layers.N.post_attention_layernorm.weight (hidden)
        ColumnParallelLinear[] gateProj;   // model.layers.N.mlp.gate_proj.weight   (intermediate, hidden)
        ColumnParallelLinear[] upProj;     // model.layers.N.mlp.up_proj.weight     (intermediate, hidden)
        RowParallelLinear[] downProj;      // model.layers.N.mlp.down_proj.weight   (hidden, intermediate)
        Tensor norm;                       // model.norm.weight                     (hidden)
        ColumnParallelLinear lmHead;       // lm_head.weight (vocab, hidden), or embed_tokens when tied
    }

    private static Weights loadWeights(LlamaConfig c, TensorStore ts, Backend be, Partition p, Communicator comm) {
        int h = c.hiddenSize();
        int layers = c.numHiddenLayers();
        Weights w = new Weights();
        w.inputLayernorm = new Tensor[layers];
        w.postAttentionLayernorm = new Tensor[layers];
        w.qProj = new ColumnParallelLinear[layers];
        w.kProj = new ColumnParallelLinear[layers];
        w.vProj = new ColumnParallelLinear[layers];
        w.oProj = new RowParallelLinear[layers];
        w.gateProj = new ColumnParallelLinear[layers];
        w.upProj = new ColumnParallelLinear[layers];
        w.downProj = new RowParallelLinear[layers];
        if (p.first() || (p.last() && c.tieWordEmbeddings())) {
            w.embedTokens = be.prepare(ts.get("model.embed_tokens.weight", c.vocabSize(), h));
        }
        for (int l = p.firstLayer(); l < p.endLayer(); l++) {
            String pre = "model.layers." + l + ".";
            w.inputLayernorm[l] = be.prepare(ts.get(pre + "input_layernorm.weight", h));
            w.postAttentionLayernorm[l] = be.prepare(ts.get(pre + "post_attention_layernorm.weight", h));
            w.qProj[l] = column(ts, be, pre + "self_attn.q_proj", c.qDim(), h, c.qkvBias(), p, comm);
            w.kProj[l] = column(ts, be, pre + "self_attn.k_proj", c.kvDim(), h, c.qkvBias(), p, comm);
            w.vProj[l] = column(ts, be, pre + "self_attn.v_proj", c.kvDim(), h, c.qkvBias(), p, comm);
            Tensor o = ts.get(pre + "self_attn.o_proj.weight", h, c.qDim());
            w.oProj[l] = new RowParallelLinear(be.prepare(o),
                    c.oBias() ? be.prepare(ts.get(pre + "self_attn.o_proj.bias", h)) : null, p, comm, c.headDim());
            w.gateProj[l] = column(ts, be, pre + "mlp.gate_proj", c.intermediateSize(), h, false, p, comm);
            w.upProj[l] = column(ts, be, pre + "mlp.up_proj", c.intermediateSize(), h, false, p, comm);
            Tensor d = ts.get(pre + "mlp.down_proj.weight", h, c.intermediateSize());
            w.downProj[l] = new RowParallelLinear(be.prepare(d), null, p, comm, d.dtype().blockSize());
        }
        if (p.last()) {
            w.norm = be.prepare(ts.get("model.norm.weight", h));
            Tensor head = c.tieWordEmbeddings() ? w.embedTokens
                    : be.prepare(ts.get("lm_head.weight", c.vocabSize(), h));
            boolean split = c.vocabSize() % p.worldSize() == 0;
            w.lmHead = new ColumnParallelLinear(head, null, split ? p : Partition.whole(1), comm, true);
        }
        return w;
    }

    private static ColumnParallelLinear column(TensorStore ts, Backend be, String name, int out, int in, boolean bias,
                                               Partition p, Communicator comm) {
        Tensor w = be.prepare(ts.get(name + ".weight", out, in));
        return new ColumnParallelLinear(w, bias ? be.prepare(ts.get(name + ".bias", out)) : null, p, comm, false);
    }

    // ------------------------------------------------------------------------------------------ state

    /** Activations for up to {@code maxTokens} tokens per call, allocated once by the backend. */
    static final class State {
        final Activation x;      // residual stream      (tokens, hidden)
        final Activation xb;     // normed input         (tokens, hidden)
        final Activation q;      // queries              (tokens, local heads * head_dim)
        final Activation k;      // keys                 (tokens, local kv heads * head_dim)
        final Activation v;      // values               (tokens, local kv heads * head_dim)
        final Activation att;    // attention output     (tokens, local heads * head_dim)
        final Activation gate;   // silu(gate) * up      (tokens, local intermediate)
        final Activation up;     // up projection        (tokens, local intermediate)
        final Activation out;    // o_proj / down_proj   (tokens, hidden)
        final Activation cosSin; // rotary cos | sin     (tokens, head_dim)
        Activation logits;       // (logit tokens, vocab), grown on demand

        State(Backend be, LlamaConfig c, int heads, int kvHeads, int ff, int maxTokens) {
            int hd = c.headDim();
            x = be.allocate("x", maxTokens, c.hiddenSize());
            xb = be.allocate("xb", maxTokens, c.hiddenSize());
            q = be.allocate("q", maxTokens, heads * hd);
            k = be.allocate("k", maxTokens, kvHeads * hd);
            v = be.allocate("v", maxTokens, kvHeads * hd);
            att = be.allocate("att", maxTokens, heads * hd);
            gate = be.allocate("gate", maxTokens, ff);
            up = be.allocate("up", maxTokens, ff);
            out = be.allocate("out", maxTokens, c.hiddenSize());
            cosSin = be.allocate("cos_sin", maxTokens, hd);
        }
    }

    // ------------------------------------------------------------------------------------------ model

    private final LlamaConfig config;
    private final Partition part;
    private final Backend backend;
    private final KvCache cache;
    private final Weights w;
    private final State s;
    private final int heads;      // query heads on this rank
    private final int kvHeads;    // kv heads on this rank
    private final int ff;         // intermediate features on this rank
    private final int maxTokens;
    private final double[] invFreq;

    /**
     * @param maxTokens most tokens one {@link #forward} call takes (the scheduler's token budget)
     * @param cache     KV storage for this partition's layers and heads
     */
    public LlamaModel(LlamaConfig config, TensorStore tensors, Backend backend, Partition part, Communicator comm,
                      KvCache cache, int maxTokens) {
        int world = part.worldSize();
        if (config.numAttentionHeads() % world != 0 || config.numKeyValueHeads() % world != 0
                || config.intermediateSize() % world != 0) {
            throw new ModelFormatException("tensor-parallel size " + world + " must divide num_attention_heads="
                    + config.numAttentionHeads() + ", num_key_value_heads=" + config.numKeyValueHeads()
                    + " and intermediate_size=" + config.intermediateSize());
        }
        if (part.endLayer() > config.numHiddenLayers()) {
            throw new IllegalArgumentException("layers up to " + part.endLayer() + " requested but num_hidden_layers="
                    + config.numHiddenLayers());
        }
        this.config = config;
        this.part = part;
        this.backend = backend;
        this.cache = cache;
        this.heads = config.numAttentionHeads() / world;
        this.kvHeads = config.numKeyValueHeads() / world;
        this.ff = config.intermediateSize() / world;
        this.maxTokens = maxTokens;
        if (cache.kvHeads() != kvHeads || cache.headDim() != config.headDim()) {
            throw new IllegalArgumentException("KV cache has " + cache.kvHeads() + " heads of " + cache.headDim()
                    + " but this partition needs " + kvHeads + " of " + config.headDim());
        }
        this.w = loadWeights(config, tensors, backend, part, comm);
        this.s = new State(backend, config, heads, kvHeads, ff, maxTokens);
        this.invFreq = config.inverseFrequencies();
    }

    public LlamaConfig config() {
        return config;
    }

    public Partition partition() {
        return part;
    }

    public int maxTokens() {
        return maxTokens;
    }

    public Backend backend() {
        return backend;
    }

    public KvCache cache() {
        return cache;
    }

    /**
     * Runs this partition's layers for a batch of tokens.
     *
     * @param hiddenIn the previous stage's output {@code (tokens, hidden)} on the host; ignored by the first stage
     * @return on the last stage, logits {@code (b.logitTokens().length, vocab)}; otherwise the hidden states
     * {@code (tokens, hidden)}. The activation belongs to this model and is overwritten by the next call.
     */
    public Activation forward(ForwardBatch b, float[] hiddenIn) {
        return forwardFrom(b, hiddenIn == null ? null : x -> backend.copyFromHost(hiddenIn, 0, b.numTokens(), x));
    }

    /**
     * Like {@link #forward(ForwardBatch, float[])}, but a stage after the first receives the previous stage's hidden
     * states through {@code fillInput}, which writes rows {@code [0, tokens)} of the activation it is given (for a
     * backend that receives them in its own memory, e.g. a device copy from the previous stage's GPU).
     */
    public Activation forwardFrom(ForwardBatch b, java.util.function.Consumer<Activation> fillInput) {
        int n = b.numTokens();
        if (n > maxTokens) {
            throw new IllegalArgumentException("batch of " + n + " tokens exceeds maxTokens=" + maxTokens);
        }
        int hd = config.headDim();
        double eps = config.rmsNormEps();
        boolean interleaved = config.ropeInterleaved();
        Backend be = backend;
        // inputs_embeds = self.embed_tokens(input_ids)
        if (part.first()) {
            be.embed(w.embedTokens, b, s.x);
        } else {
            if (fillInput == null) {
                throw new IllegalArgumentException("pipeline stage " + part + " needs the previous stage's hidden"
                        + " states");
            }
            fillInput.accept(s.x);
        }
        // cos, sin = self.rotary_emb(x, position_ids)
        be.ropeCache(b, invFreq, s.cosSin);
        for (int l = part.firstLayer(); l < part.endLayer(); l++) {
            // hidden_states = self.input_layernorm(hidden_states)
            be.rmsNorm(s.x, w.inputLayernorm[l], eps, n, s.xb);
            // query_states = self.q_proj(hidden_states), key_states, value_states likewise
            w.qProj[l].forward(be, s.xb, n, s.q);
            w.kProj[l].forward(be, s.xb, n, s.k);
            w.vProj[l].forward(be, s.xb, n, s.v);
            // query_states, key_states = apply_rotary_pos_emb(query_states, key_states, cos, sin)
            be.rope(s.q, n, heads, hd, s.cosSin, interleaved);
            be.rope(s.k, n, kvHeads, hd, s.cosSin, interleaved);
            // key_states, value_states = past_key_value.update(key_states, value_states, self.layer_idx)
            be.kvWrite(cache, l, s.k, s.v, b);
            // attn_output = softmax(q k^T / sqrt(head_dim) + causal_mask) v   (k, v repeated per group)
            be.attention(s.q, heads, cache, l, config.slidingWindow(), b, s.att);
            // hidden_states = residual + self.o_proj(attn_output)
            w.oProj[l].forward(be, s.att, n, s.out);
            be.add(s.x, s.out, n);
            // hidden_states = residual + self.mlp(self.post_attention_layernorm(hidden_states))
            be.rmsNorm(s.x, w.postAttentionLayernorm[l], eps, n, s.xb);
            // down_proj(act_fn(gate_proj(x)) * up_proj(x))
            w.gateProj[l].forward(be, s.xb, n, s.gate);
            w.upProj[l].forward(be, s.xb, n, s.up);
            be.siluMul(s.gate, s.up, n);
            w.downProj[l].forward(be, s.gate, n, s.out);
            be.add(s.x, s.out, n);
        }
        if (!part.last()) {
            return s.x;
        }
        // hidden_states = self.norm(hidden_states); logits = self.lm_head(hidden_states[:, logit tokens])
        int m = b.logitTokens().length;
        be.gatherRows(s.x, b.logitTokens(), m, s.out);
        be.rmsNorm(s.out, w.norm, eps, m, s.xb);
        if (s.logits == null || s.logits.maxRows() < m) {
            s.logits = be.allocate("logits", Math.max(m, s.logits == null ? 1 : 2 * s.logits.maxRows()),
                    config.vocabSize());
        }
        w.lmHead.forward(be, s.xb, m, s.logits);
        return s.logits;
    }
}
