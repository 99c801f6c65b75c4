package io.stoker.llm.load;

import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one table between GGUF tensor names (llama.cpp's {@code blk.N.attn_q.weight}) and Hugging Face names
 * ({@code model.layers.N.self_attn.q_proj.weight}) for the Llama family. The loader reads with it; the test kit's
 * GGUF writer writes with it.
 */
public final class GgufNames {
    /** Per-layer suffixes: GGUF on the left, Hugging Face on the right. */
    private static final String[][] LAYER = {
        {"attn_norm.weight", "input_layernorm.weight"},
        {"attn_q.weight", "self_attn.q_proj.weight"},
        {"attn_q.bias", "self_attn.q_proj.bias"},
        {"attn_k.weight", "self_attn.k_proj.weight"},
        {"attn_k.bias", "self_attn.k_proj.bias"},
        {"attn_v.weight", "self_attn.v_proj.weight"},
        {"attn_v.bias", "self_attn.v_proj.bias"},
        {"attn_output.weight", "self_attn.o_proj.weight"},
        {"attn_output.bias", "self_attn.o_proj.bias"},
        {"ffn_norm.weight", "post_attention_layernorm.weight"},
        {"ffn_gate.weight", "mlp.gate_proj.weight"},
        {"ffn_up.weight", "mlp.up_proj.weight"},
        {"ffn_down.weight", "mlp.down_proj.weight"},
    };
    /** Whole-model tensors. */
    private static final String[][] GLOBAL = {
        {"token_embd.weight", "model.embed_tokens.weight"},
        {"output_norm.weight", "model.norm.weight"},
        {"output.weight", "lm_head.weight"},
    };
    private static final Pattern GGUF_LAYER = Pattern.compile("blk\\.(\\d+)\\.(.+)");
    private static final Pattern HF_LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");
    private static final Map<String, String> LAYER_TO_HF = new HashMap<>();
    private static final Map<String, String> LAYER_TO_GGUF = new HashMap<>();
    private static final Map<String, String> GLOBAL_TO_HF = new HashMap<>();
    private static final Map<String, String> GLOBAL_TO_GGUF = new HashMap<>();

    static {
        for (String[] e : LAYER) {
            LAYER_TO_HF.put(e[0], e[1]);
            LAYER_TO_GGUF.put(e[1], e[0]);
        }
        for (String[] e : GLOBAL) {
            GLOBAL_TO_HF.put(e[0], e[1]);
            GLOBAL_TO_GGUF.put(e[1], e[0]);
        }
    }

    private GgufNames() {
    }

    /** @return the Hugging Face name of a GGUF tensor, or null for tensors the model does not read */
    public static String toHf(String gguf) {
        return map(gguf, GLOBAL_TO_HF, GGUF_LAYER, LAYER_TO_HF, "model.layers.");
    }

    /** @return the GGUF name of a Hugging Face tensor, or null when GGUF has no such tensor */
    public static String toGguf(String hf) {
        return map(hf, GLOBAL_TO_GGUF, HF_LAYER, LAYER_TO_GGUF, "blk.");
    }

    private static String map(String name, Map<String, String> global, Pattern layer, Map<String, String> perLayer,
                              String layerPrefix) {
        String g = global.get(name);
        if (g != null) {
            return g;
        }
        Matcher m = layer.matcher(name);
        if (m.matches()) {
            String rest = perLayer.get(m.group(2));
            return rest == null ? null : layerPrefix + m.group(1) + "." + rest;
        }
        return null;
    }
}
