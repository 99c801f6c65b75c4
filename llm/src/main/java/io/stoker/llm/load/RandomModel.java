package io.stoker.llm.load;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.LoadedModel;
import io.stoker.llm.model.llama.LlamaConfig;
import io.stoker.llm.tensor.DType;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code random:} model sources: a Llama-family model of any shape with deterministic random weights
 * ({@link RandomTensor}) and no tokenizer, for speed measurements at real shapes without a checkpoint (a device
 * backend fills the weights on the device: no file, no host memory) and for CPU-versus-device parity.
 *
 * <pre>
 * random:PRESET[,key=value...]   or   random:key=value[,key=value...]
 *   presets: llama-3.1-8b (hidden 4096, ffn 14336, 32 layers, 32 heads, 8 KV heads, vocab 128256, rope_theta 500000,
 *            bf16), tiny (hidden 64, ffn 128, 2 layers, 4 heads, 2 KV heads, vocab 256, f32)
 *   keys: hidden, intermediate, layers, heads, kv_heads, head_dim, vocab, max_positions, rope_theta, tied (true|false),
 *         dtype (f32|f16|bf16), seed
 * </pre>
 *
 * Weights: linear layers uniform with standard deviation {@code 1/sqrt(in)}, embeddings 0.05, norms {@code 1 ± 0.1}
 * (like the test kit's random checkpoints).
 */
public final class RandomModel {
    public static final String SCHEME = "random:";
    private static final double SQRT3 = Math.sqrt(3);

    private RandomModel() {
    }

    public static boolean isRandom(String location) {
        return location != null && location.startsWith(SCHEME);
    }

    /** @throws IllegalArgumentException naming the key when the spec is malformed */
    public static LoadedModel load(String location) {
        Map<String, String> kv = parse(location);
        DType dtype = dtype(kv.remove("dtype"), location);
        long seed = longValue(kv, "seed", 0, location);
        boolean tied = Boolean.parseBoolean(kv.getOrDefault("tied", "false"));
        kv.remove("tied");
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("hidden_size", intValue(kv, "hidden", location));
        c.put("intermediate_size", intValue(kv, "intermediate", location));
        c.put("num_hidden_layers", intValue(kv, "layers", location));
        c.put("num_attention_heads", intValue(kv, "heads", location));
        c.put("num_key_value_heads", intValue(kv, "kv_heads", location));
        if (kv.containsKey("head_dim")) {
            c.put("head_dim", intValue(kv, "head_dim", location));
        }
        c.put("vocab_size", intValue(kv, "vocab", location));
        c.put("max_position_embeddings", intValue(kv, "max_positions", location));
        c.put("rope_theta", Double.parseDouble(kv.remove("rope_theta")));
        c.put("rms_norm_eps", 1e-5);
        c.put("tie_word_embeddings", tied);
        if (!kv.isEmpty()) {
            throw new IllegalArgumentException(location + ": unknown key(s) " + kv.keySet() + "; known: hidden, "
                    + "intermediate, layers, heads, kv_heads, head_dim, vocab, max_positions, rope_theta, tied, dtype,"
                    + " seed");
        }
        LlamaConfig cfg = LlamaConfig.fromJson(c, location);
        Map<String, RandomTensor> t = new LinkedHashMap<>();
        int h = cfg.hiddenSize();
        int f = cfg.intermediateSize();
        int q = cfg.qDim();
        int kvd = cfg.kvDim();
        put(t, RandomTensor.uniform("model.embed_tokens.weight", dtype, cfg.vocabSize(), h, seed, 0, 0.05 * SQRT3));
        for (int l = 0; l < cfg.numHiddenLayers(); l++) {
            String p = "model.layers." + l + ".";
            put(t, norm(p + "input_layernorm.weight", dtype, h, seed));
            put(t, linear(p + "self_attn.q_proj.weight", dtype, q, h, seed));
            put(t, linear(p + "self_attn.k_proj.weight", dtype, kvd, h, seed));
            put(t, linear(p + "self_attn.v_proj.weight", dtype, kvd, h, seed));
            put(t, linear(p + "self_attn.o_proj.weight", dtype, h, q, seed));
            put(t, norm(p + "post_attention_layernorm.weight", dtype, h, seed));
            put(t, linear(p + "mlp.gate_proj.weight", dtype, f, h, seed));
            put(t, linear(p + "mlp.up_proj.weight", dtype, f, h, seed));
            put(t, linear(p + "mlp.down_proj.weight", dtype, h, f, seed));
        }
        put(t, norm("model.norm.weight", dtype, h, seed));
        if (!tied) {
            put(t, linear("lm_head.weight", dtype, cfg.vocabSize(), h, seed));
        }
        TensorStore store = new TensorStore(t, Map.of(), "random model " + location);
        return new LoadedModel(location, "random", cfg, store, null, null, Set.of());
    }

    private static void put(Map<String, RandomTensor> t, RandomTensor r) {
        t.put(r.name(), r);
    }

    private static RandomTensor linear(String name, DType dtype, int out, int in, long seed) {
        return RandomTensor.uniform(name, dtype, out, in, seed, 0, SQRT3 / Math.sqrt(in));
    }

    private static RandomTensor norm(String name, DType dtype, int n, long seed) {
        return RandomTensor.uniform(name, dtype, 1, n, seed, 1, 0.1);
    }

    static Map<String, String> parse(String location) {
        if (!isRandom(location)) {
            throw new IllegalArgumentException("'" + location + "' is not a random: model source");
        }
        Map<String, String> kv = new LinkedHashMap<>();
        String body = location.substring(SCHEME.length()).trim();
        String[] parts = body.isEmpty() ? new String[0] : body.split(",");
        int i = 0;
        if (parts.length > 0 && !parts[0].contains("=")) {
            kv.putAll(preset(parts[0].trim().toLowerCase(Locale.ROOT), location));
            i = 1;
        } else {
            kv.putAll(preset("tiny", location));
        }
        for (; i < parts.length; i++) {
            String p = parts[i].trim();
            int eq = p.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(location + ": '" + p + "' is not key=value");
            }
            kv.put(p.substring(0, eq).trim().toLowerCase(Locale.ROOT), p.substring(eq + 1).trim());
        }
        return kv;
    }

    private static Map<String, String> preset(String name, String location) {
        Map<String, String> m = new LinkedHashMap<>();
        switch (name) {
            case "llama-3.1-8b" -> {
                m.put("hidden", "4096");
                m.put("intermediate", "14336");
                m.put("layers", "32");
                m.put("heads", "32");
                m.put("kv_heads", "8");
                m.put("vocab", "128256");
                m.put("max_positions", "131072");
                m.put("rope_theta", "500000");
                m.put("dtype", "bf16");
            }
            case "tiny" -> {
                m.put("hidden", "64");
                m.put("intermediate", "128");
                m.put("layers", "2");
                m.put("heads", "4");
                m.put("kv_heads", "2");
                m.put("vocab", "256");
                m.put("max_positions", "512");
                m.put("rope_theta", "10000");
                m.put("dtype", "f32");
            }
            default -> throw new IllegalArgumentException(location + ": unknown preset '" + name
                    + "'; known: llama-3.1-8b, tiny");
        }
        m.put("seed", "0");
        return m;
    }

    private static DType dtype(String v, String location) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "f32", "float32" -> DType.F32;
            case "f16", "float16" -> DType.F16;
            case "bf16", "bfloat16" -> DType.BF16;
            default -> throw new IllegalArgumentException(location + ": dtype=" + v + " must be f32, f16 or bf16");
        };
    }

    private static int intValue(Map<String, String> kv, String key, String location) {
        String v = kv.remove(key);
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(location + ": " + key + "=" + v + " is not an integer");
        }
    }

    private static long longValue(Map<String, String> kv, String key, long fallback, String location) {
        String v = kv.remove(key);
        if (v == null) {
            return fallback;
        }
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(location + ": " + key + "=" + v + " is not an integer");
        }
    }
}
