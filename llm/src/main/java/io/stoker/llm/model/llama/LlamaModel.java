package io.stoker.llm.model.llama;

import io.stoker.llm.backend.Backend;
import io.stoker.llm.kv.KvCache;
import io.stoker.llm.load.ModelFormatException;
import io.stoker.llm.load.TensorStore;
import io.stoker.llm.model.ColumnParallelLinear;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.model.Partition;
import io.stoker.llm.model.RowParallelLinear;
import io.stoker.llm.tensor.MappedTensor;
import io.stoker.llm.tensor.Tensor;
import io.stoker.runtime.comm.Communicator;

/**
 * The Llama family (Llama 2/3, Mistral, Qwen2, SmolLM): RMSNorm, rotary embeddings, grouped-query attention
 * over a paged KV cache, SwiGLU MLP. One instance runs a {@link Partition} of the model: a tensor-parallel shard
 * (heads and FFN columns split, see {@link ColumnParallelLinear} / {@link RowParallelLinear}) and/or a pipeline
 * stage (a range of layers).
 *
 * <p>Read top to bottom: {@link LlamaConfig} (separate file), {@link Weights}, {@link State}, then
 * {@link #forward}, which follows transformers' {@code modeling_llama.py}.
 *
 * <p>Thread-safety: one thread calls {@link #forward} at a time (the owning engine or actor thread).
 */
public final class LlamaModel {

    // ------------------------------------------------------------------------------------------ weights

    /** Weights with Hugging Face names; shapes are {@code [out_features, in_features]} and global (unsplit). */
    static final class Weights {
        Tensor embedTokens;                // model.embed_tokens.weight            (vocab, hidden)
        float[][] inputLayernorm;          // model.layers.N.input_layernorm.weight (hidden)
        ColumnParallelLinear[] qProj;      // model.layers.N.self_attn.q_proj.weight (heads * head_dim, hidden) [+ bias]
        ColumnParallelLinear[] kProj;      // model.layers.N.self_attn.k_proj.weight (kv_heads * head_dim, hidden)
        ColumnParallelLinear[] vProj;      // model.layers.N.self_attn.v_proj.weight (kv_heads * head_dim, hidden)
        RowParallelLinear[] oProj;         // model.layers.N.self_attn.o_proj.weight (hidden, heads * head_dim)
        float[][] postAttentionLayernorm;  // model.layers.N.post_attention_layernorm.weight (hidden)
        ColumnParallelLinear[] gateProj;   // model.layers.N.mlp.gate_proj.weight   (intermediate, hidden)
        ColumnParallelLinear[] upProj;     // model.layers.N.mlp.up_proj.weight     (intermediate, hidden)
        RowParallelLinear[] downProj;      // model.layers.N.mlp.down_proj.weight   (hidden, intermediate)
        float[] norm;                      // model.norm.weight                     (hidden)
        ColumnParallelLinear lmHead;       // lm_head.weight (vocab, hidden), or embed_tokens when tied
    }

    private static Weights loadWeights(LlamaConfig c, TensorStore ts, Partition p, Communicator comm) {
        int h = c.hiddenSize();
        int layers = c.numHiddenLayers();
        Weights w = new Weights();
        w.inputLayernorm = new float[layers][];
        w.postAttentionLayernorm = new float[layers][];
        w.qProj = new ColumnParallelLinear[layers];
        w.kProj = new ColumnParallelLinear[layers];
        w.vProj = new ColumnParallelLinear[layers];
        w.oProj = new RowParallelLinear[layers];
        w.gateProj = new ColumnParallelLinear[layers];
        w.upProj = new ColumnParallelLinear[layers];
        w.downProj = new RowParallelLinear[layers];
        if (p.first() || (p.last() && c.tieWordEmbeddings())) {
            w.embedTokens = ts.get("model.embed_tokens.weight", c.vocabSize(), h);
        }
        for (int l = p.firstLayer(); l < p.endLayer(); l++) {
            String pre = "model.layers." + l + ".";
            w.inputLayernorm[l] = vector(ts, pre + "input_layernorm.weight", h);
            w.postAttentionLayernorm[l] = vector(ts, pre + "post_attention_layernorm.weight", h);
            w.qProj[l] = column(ts, pre + "self_attn.q_proj", c.qDim(), h, c.qkvBias(), p, comm);
            w.kProj[l] = column(ts, pre + "self_attn.k_proj", c.kvDim(), h, c.qkvBias(), p, comm);
            w.vProj[l] = column(ts, pre + "self_attn.v_proj", c.kvDim(), h, c.qkvBias(), p, comm);
            MappedTensor o = ts.get(pre + "self_attn.o_proj.weight", h, c.qDim());
            w.oProj[l] = new RowParallelLinear(o, c.oBias() ? vector(ts, pre + "self_attn.o_proj.bias", h) : null, p,
                    comm, c.headDim());
            w.gateProj[l] = column(ts, pre + "mlp.gate_proj", c.intermediateSize(), h, false, p, comm);
            w.upProj[l] = column(ts, pre + "mlp.up_proj", c.intermediateSize(), h, false, p, comm);
            MappedTensor d = ts.get(pre + "mlp.down_proj.weight", h, c.intermediateSize());
            w.downProj[l] = new RowParallelLinear(d, null, p, comm, d.dtype().blockSize());
        }
        if (p.last()) {
            w.norm = vector(ts, "model.norm.weight", h);
            Tensor head = c.tieWordEmbeddings() ? w.embedTokens : ts.get("lm_head.weight", c.vocabSize(), h);
            boolean split = c.vocabSize() % p.worldSize() == 0;
            w.lmHead = new ColumnParallelLinear(head, null, split ? p : Partition.whole(1), comm, true);
        }
        return w;
    }

    private static float[] vector(TensorStore ts, String name, int n) {
        return ts.get(name, n).toFloatArray();
    }

    private static ColumnParallelLinear column(TensorStore ts, String name, int out, int in, boolean bias, Partition p,
                                               Communicator comm) {
        MappedTensor w = ts.get(name + ".weight", out, in);
        return new ColumnParallelLinear(w, bias ? vector(ts, name + ".bias", out) : null, p, comm, false);
    }

    // ------------------------------------------------------------------------------------------ state

    /** Activations for up to {@code maxTokens} tokens per call, allocated once. */
    static final class State {
        final float[] x;      // residual stream      (tokens, hidden)
        final float[] xb;     // normed input         (tokens, hidden)
        final float[] q;      // queries              (tokens, local heads * head_dim)
        final float[] k;      // keys                 (tokens, local kv heads * head_dim)
        final float[] v;      // values               (tokens, local kv heads * head_dim)
        final float[] att;    // attention output     (tokens, local heads * head_dim)
        final float[] gate;   // silu(gate) * up      (tokens, local intermediate)
        final float[] up;     // up projection        (tokens, local intermediate)
        final float[] out;    // o_proj / down_proj   (tokens, hidden)
        final float[] cos;    // rotary cos           (tokens, head_dim / 2)
        final float[] sin;    // rotary sin           (tokens, head_dim / 2)
        float[] logits = new float[0]; // (logit tokens, vocab), grown on demand

        State(LlamaConfig c, int heads, int kvHeads, int ff, int maxTokens) {
            int hd = c.headDim();
            x = new float[maxTokens * c.hiddenSize()];
            xb = new float[maxTokens * c.hiddenSize()];
            q = new float[maxTokens * heads * hd];
            k = new float[maxTokens * kvHeads * hd];
            v = new float[maxTokens * kvHeads * hd];
            att = new float[maxTokens * heads * hd];
            gate = new float[maxTokens * ff];
            up = new float[maxTokens * ff];
            out = new float[maxTokens * c.hiddenSize()];
            cos = new float[maxTokens * hd / 2];
            sin = new float[maxTokens * hd / 2];
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
        this.w = loadWeights(config, tensors, part, comm);
        this.s = new State(config, heads, kvHeads, ff, maxTokens);
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

    /**
     * Runs this partition's layers for a batch of tokens.
     *
     * @param hiddenIn the previous stage's output {@code (tokens, hidden)}; ignored by the first stage
     * @return on the last stage, logits {@code (b.logitTokens().length, vocab)}; otherwise the hidden states
     * {@code (tokens, hidden)}. The array belongs to this model and is overwritten by the next call.
     */
    public float[] forward(ForwardBatch b, float[] hiddenIn) {
        int n = b.numTokens();
        if (n > maxTokens) {
            throw new IllegalArgumentException("batch of " + n + " tokens exceeds maxTokens=" + maxTokens);
        }
        int dim = config.hiddenSize();
        int hd = config.headDim();
        int qDim = heads * hd;
        int kvDim = kvHeads * hd;
        Backend be = backend;
        // inputs_embeds = self.embed_tokens(input_ids)
        if (part.first()) {
            be.embed(w.embedTokens, b.tokens(), n, s.x);
        } else {
            System.arraycopy(hiddenIn, 0, s.x, 0, n * dim);
        }
        // cos, sin = self.rotary_emb(x, position_ids)
        int half = hd / 2;
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < half; i++) {
                double angle = b.positions()[t] * invFreq[i];
                s.cos[t * half + i] = (float) Math.cos(angle);
                s.sin[t * half + i] = (float) Math.sin(angle);
            }
        }
        for (int l = part.firstLayer(); l < part.endLayer(); l++) {
            // hidden_states = self.input_layernorm(hidden_states)
            rmsnorm(s.xb, s.x, w.inputLayernorm[l], n, dim);
            // query_states = self.q_proj(hidden_states), key_states, value_states likewise
            w.qProj[l].forward(be, s.xb, n, s.q);
            w.kProj[l].forward(be, s.xb, n, s.k);
            w.vProj[l].forward(be, s.xb, n, s.v);
            // query_states, key_states = apply_rotary_pos_emb(query_states, key_states, cos, sin)
            rope(s.q, n, heads, hd);
            rope(s.k, n, kvHeads, hd);
            // key_states, value_states = past_key_value.update(key_states, value_states, self.layer_idx)
            for (int t = 0; t < n; t++) {
                cache.write(l, b.blockTables()[b.tokenSeq()[t]], b.positions()[t], s.k, t * kvDim, s.v, t * kvDim);
            }
            // attn_output = softmax(q k^T / sqrt(head_dim) + causal_mask) v   (k, v repeated per group)
            be.attention(s.q, n, heads, hd, b.positions(), b.tokenSeq(), b.blockTables(), cache, l,
                    config.slidingWindow(), s.att);
            // hidden_states = residual + self.o_proj(attn_output)
            w.oProj[l].forward(be, s.att, n, s.out);
            add(s.x, s.out, n * dim);
            // hidden_states = residual + self.mlp(self.post_attention_layernorm(hidden_states))
            rmsnorm(s.xb, s.x, w.postAttentionLayernorm[l], n, dim);
            // down_proj(act_fn(gate_proj(x)) * up_proj(x))
            w.gateProj[l].forward(be, s.xb, n, s.gate);
            w.upProj[l].forward(be, s.xb, n, s.up);
            siluMul(s.gate, s.up, n * ff);
            w.downProj[l].forward(be, s.gate, n, s.out);
            add(s.x, s.out, n * dim);
        }
        if (!part.last()) {
            return s.x;
        }
        // hidden_states = self.norm(hidden_states); logits = self.lm_head(hidden_states[:, logit tokens])
        int m = b.logitTokens().length;
        for (int i = 0; i < m; i++) {
            System.arraycopy(s.x, b.logitTokens()[i] * dim, s.out, i * dim, dim);
        }
        rmsnorm(s.xb, s.out, w.norm, m, dim);
        int vocab = config.vocabSize();
        if (s.logits.length < m * vocab) {
            s.logits = new float[m * vocab];
        }
        w.lmHead.forward(be, s.xb, m, s.logits);
        return s.logits;
    }

    /** {@code out = x * rsqrt(mean(x^2) + eps) * weight} per token (sum of squares in double, fixed order). */
    private void rmsnorm(float[] out, float[] x, float[] weight, int n, int dim) {
        for (int t = 0; t < n; t++) {
            int o = t * dim;
            double ss = 0;
            for (int i = 0; i < dim; i++) {
                ss += (double) x[o + i] * x[o + i];
            }
            float inv = (float) (1.0 / Math.sqrt(ss / dim + config.rmsNormEps()));
            for (int i = 0; i < dim; i++) {
                out[o + i] = weight[i] * (x[o + i] * inv);
            }
        }
    }

    /**
     * Rotates pairs of each head: HF layout pairs (i, i + d/2) ({@code rotate_half}); GGUF llama layout pairs
     * (2i, 2i + 1), because llama.cpp's converter permuted q/k rows.
     */
    private void rope(float[] v, int n, int nHeads, int hd) {
        int half = hd / 2;
        boolean interleaved = config.ropeInterleaved();
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < nHeads; h++) {
                int o = (t * nHeads + h) * hd;
                for (int i = 0; i < half; i++) {
                    float c = s.cos[t * half + i];
                    float sn = s.sin[t * half + i];
                    int i0 = interleaved ? o + 2 * i : o + i;
                    int i1 = interleaved ? i0 + 1 : i0 + half;
                    float x0 = v[i0];
                    float x1 = v[i1];
                    v[i0] = x0 * c - x1 * sn;
                    v[i1] = x1 * c + x0 * sn;
                }
            }
        }
    }

    private static void add(float[] x, float[] y, int n) {
        for (int i = 0; i < n; i++) {
            x[i] += y[i];
        }
    }

    /** {@code gate = silu(gate) * up}, silu(g) = g / (1 + e^-g). */
    private static void siluMul(float[] gate, float[] up, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[i];
            gate[i] = (float) (g / (1.0 + Math.exp(-g))) * up[i];
        }
    }
}
