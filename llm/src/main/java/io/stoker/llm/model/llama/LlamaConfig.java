package io.stoker.llm.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import io.stoker.llm.load.ModelFormatException;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Hyperparameters of a Llama-family model, named as in Hugging Face's {@code config.json}. Immutable; validated
 * on construction.
 *
 * @param architecture          {@code architectures[0]}, e.g. {@code LlamaForCausalLM}
 * @param hiddenSize            {@code hidden_size}
 * @param intermediateSize      {@code intermediate_size}
 * @param numHiddenLayers       {@code num_hidden_layers}
 * @param numAttentionHeads     {@code num_attention_heads}
 * @param numKeyValueHeads      {@code num_key_value_heads} (GQA; equals heads when absent)
 * @param headDim               {@code head_dim} (hidden / heads when absent)
 * @param vocabSize             {@code vocab_size}
 * @param maxPositionEmbeddings {@code max_position_embeddings}: the context length
 * @param rmsNormEps            {@code rms_norm_eps}
 * @param ropeTheta             {@code rope_theta}
 * @param ropeScaling           {@code rope_scaling} (null, or llama3 / linear)
 * @param tieWordEmbeddings     {@code tie_word_embeddings}: lm_head reuses embed_tokens
 * @param qkvBias               q/k/v projections have biases (Qwen2, or {@code attention_bias})
 * @param oBias                 o_proj has a bias ({@code attention_bias})
 * @param slidingWindow         {@code sliding_window} when in use (Mistral), else 0
 * @param ropeInterleaved       rotary pairs are (2i, 2i+1) (GGUF llama layout) instead of (i, i + d/2) (HF)
 * @param ropeFreqFactors       per-frequency divisors from GGUF {@code rope_freqs.weight}, or null
 * @param bosTokenId            {@code bos_token_id} or -1
 * @param eosTokenIds           {@code eos_token_id} (one or several)
 */
public record LlamaConfig(String architecture, int hiddenSize, int intermediateSize, int numHiddenLayers,
                          int numAttentionHeads, int numKeyValueHeads, int headDim, int vocabSize,
                          int maxPositionEmbeddings, double rmsNormEps, double ropeTheta, RopeScaling ropeScaling,
                          boolean tieWordEmbeddings, boolean qkvBias, boolean oBias, int slidingWindow,
                          boolean ropeInterleaved, float[] ropeFreqFactors, int bosTokenId, List<Integer> eosTokenIds) {

    /** Architectures this family file runs. */
    public static final Set<String> ARCHITECTURES = Set.of("LlamaForCausalLM", "MistralForCausalLM",
            "Qwen2ForCausalLM");

    /** {@code rope_scaling}: {@code rope_type} "llama3" (with its four fields) or "linear" (factor only). */
    public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                              int originalMaxPositionEmbeddings) {
    }

    public LlamaConfig {
        String src = "config of " + architecture;
        positive("hidden_size", hiddenSize, src);
        positive("intermediate_size", intermediateSize, src);
        positive("num_hidden_layers", numHiddenLayers, src);
        positive("num_attention_heads", numAttentionHeads, src);
        positive("num_key_value_heads", numKeyValueHeads, src);
        positive("head_dim", headDim, src);
        positive("vocab_size", vocabSize, src);
        positive("max_position_embeddings", maxPositionEmbeddings, src);
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new ModelFormatException("num_attention_heads=" + numAttentionHeads
                    + " is not a multiple of num_key_value_heads=" + numKeyValueHeads + " in " + src);
        }
        if (headDim % 2 != 0) {
            throw new ModelFormatException("head_dim=" + headDim + " must be even for rotary embeddings in " + src);
        }
        if (!(rmsNormEps > 0)) {
            throw new ModelFormatException("rms_norm_eps=" + rmsNormEps + " must be > 0 in " + src);
        }
        if (!(ropeTheta > 0)) {
            throw new ModelFormatException("rope_theta=" + ropeTheta + " must be > 0 in " + src);
        }
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    private static void positive(String field, int v, String src) {
        if (v <= 0) {
            throw new ModelFormatException(field + "=" + v + " must be >= 1 in " + src);
        }
    }

    /**
     * Reads a Hugging Face {@code config.json}.
     *
     * @param where the file, for error messages
     * @throws ModelFormatException naming the field when one is missing or invalid, or the architecture is unknown
     */
    public static LlamaConfig fromJson(JsonNode c, String where) {
        JsonNode archs = c.path("architectures");
        String arch = archs.isArray() && archs.size() > 0 ? archs.get(0).asText() : c.path("model_type").asText("");
        if (!ARCHITECTURES.contains(arch)) {
            throw new ModelFormatException(where + ": architecture '" + arch + "' is not supported; supported: "
                    + ARCHITECTURES + " (field 'architectures')");
        }
        int hidden = req(c, "hidden_size", where);
        int heads = req(c, "num_attention_heads", where);
        int kvHeads = c.has("num_key_value_heads") && !c.get("num_key_value_heads").isNull()
                ? c.get("num_key_value_heads").asInt() : heads;
        int headDim = c.has("head_dim") && !c.get("head_dim").isNull() ? c.get("head_dim").asInt() : hidden / heads;
        RopeScaling scaling = null;
        JsonNode rs = c.path("rope_scaling");
        if (rs.isObject()) {
            String type = rs.has("rope_type") ? rs.get("rope_type").asText() : rs.path("type").asText("");
            if (type.equals("llama3")) {
                scaling = new RopeScaling(type, rs.path("factor").asDouble(8), rs.path("low_freq_factor").asDouble(1),
                        rs.path("high_freq_factor").asDouble(4),
                        rs.path("original_max_position_embeddings").asInt(8192));
            } else if (type.equals("linear")) {
                scaling = new RopeScaling(type, rs.path("factor").asDouble(1), 0, 0, 0);
            } else if (!type.equals("default")) {
                throw new ModelFormatException(where + ": rope_scaling type '" + type
                        + "' is not supported (llama3, linear)");
            }
        }
        boolean qwen = arch.equals("Qwen2ForCausalLM");
        boolean attnBias = c.path("attention_bias").asBoolean(false);
        int window = 0;
        if (c.has("sliding_window") && !c.get("sliding_window").isNull()
                && (!qwen || c.path("use_sliding_window").asBoolean(false))) {
            window = c.get("sliding_window").asInt(0);
        }
        List<Integer> eos = new ArrayList<>();
        JsonNode e = c.path("eos_token_id");
        if (e.isArray()) {
            e.forEach(n -> eos.add(n.asInt()));
        } else if (e.isNumber()) {
            eos.add(e.asInt());
        }
        return new LlamaConfig(arch, hidden, req(c, "intermediate_size", where), req(c, "num_hidden_layers", where),
                heads, kvHeads, headDim, req(c, "vocab_size", where),
                c.path("max_position_embeddings").asInt(2048), c.path("rms_norm_eps").asDouble(1e-6),
                c.path("rope_theta").asDouble(10000.0), scaling,
                c.path("tie_word_embeddings").asBoolean(false), qwen || attnBias, attnBias, window, false, null,
                c.path("bos_token_id").isNumber() ? c.get("bos_token_id").asInt() : -1, eos);
    }

    private static int req(JsonNode c, String field, String where) {
        JsonNode n = c.get(field);
        if (n == null || !n.isNumber()) {
            throw new ModelFormatException(where + ": field '" + field + "' is missing or not a number");
        }
        return n.asInt();
    }

    /** @return query features ({@code heads * head_dim}) */
    public int qDim() {
        return numAttentionHeads * headDim;
    }

    /** @return key/value features ({@code kv_heads * head_dim}) */
    public int kvDim() {
        return numKeyValueHeads * headDim;
    }

    /**
     * Inverse rotary frequencies {@code theta^(-2i/d)} for {@code i < head_dim/2}, after rope scaling (as
     * transformers' {@code _compute_llama3_parameters}) or GGUF frequency factors.
     */
    public double[] inverseFrequencies() {
        int half = headDim / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1.0 / Math.pow(ropeTheta, (2.0 * i) / headDim);
        }
        if (ropeFreqFactors != null) {
            for (int i = 0; i < half; i++) {
                inv[i] /= ropeFreqFactors[i];
            }
        } else if (ropeScaling != null && ropeScaling.type().equals("llama3")) {
            RopeScaling s = ropeScaling;
            double lowWavelen = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
            double highWavelen = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
            for (int i = 0; i < half; i++) {
                double wavelen = 2 * Math.PI / inv[i];
                if (wavelen < highWavelen) {
                    continue;
                }
                if (wavelen > lowWavelen) {
                    inv[i] = inv[i] / s.factor();
                } else {
                    double smooth = (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor())
                            / (s.highFreqFactor() - s.lowFreqFactor());
                    inv[i] = (1 - smooth) * inv[i] / s.factor() + smooth * inv[i];
                }
            }
        } else if (ropeScaling != null && ropeScaling.type().equals("linear")) {
            for (int i = 0; i < half; i++) {
                inv[i] /= ropeScaling.factor();
            }
        }
        return inv;
    }

    /** A copy with GGUF's interleaved rotary layout and frequency factors. */
    public LlamaConfig withGgufRope(boolean interleaved, float[] freqFactors) {
        return new LlamaConfig(architecture, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, vocabSize, maxPositionEmbeddings, rmsNormEps, ropeTheta, ropeScaling,
                tieWordEmbeddings, qkvBias, oBias, slidingWindow, interleaved, freqFactors, bosTokenId, eosTokenIds);
    }
}
