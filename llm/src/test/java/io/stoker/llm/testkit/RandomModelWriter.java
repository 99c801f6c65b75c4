package io.stoker.llm.testkit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.load.GgufNames;
import io.stoker.llm.tensor.DType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes random-weight Llama-family models for tests and benchmarks: a Hugging Face directory ({@code config.json},
 * {@code model.safetensors}, a byte-level BPE {@code tokenizer.json}, {@code tokenizer_config.json} with a ChatML
 * template) and the same weights as a GGUF file, the way llama.cpp's converter writes them (q/k rows permuted for
 * the llama architecture, Llama 3 rope scaling as {@code rope_freqs.weight}).
 *
 * <p>Weights: embeddings ~ N(0, 0.05^2) (so that tied heads do not just repeat the input token), linear layers ~ N(0, 1/in), norms ~ 1 + N(0, 0.1^2), biases ~ N(0, 0.1^2), drawn
 * in a fixed order from one seed, so every format gets the same values.
 */
public final class RandomModelWriter {
    /** Special tokens, ids 0..2. */
    public static final List<String> SPECIALS = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");
    public static final String CHATML = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n'"
            + " + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|im_start|>assistant\\n' }}{% endif %}";
    private static final String CORPUS = "The quick brown fox jumps over the lazy dog. Spark executors run the model"
            + " themselves, and the engine batches requests continuously. A token is a piece of text; the"
            + " tokenizer turns text into tokens and tokens back into text. Hello world! How are you today? The"
            + " answer is 42, and the question is still unknown. Models read the prompt, then write one token at a"
            + " time until they reach a stop token or the maximum length.";

    /**
     * Shape and options of a random model.
     *
     * @param architecture LlamaForCausalLM, MistralForCausalLM or Qwen2ForCausalLM (qkv bias)
     * @param llama3Rope   add Llama 3 rope scaling (factor 8, low 1, high 4, original context 64)
     */
    public record Spec(String architecture, int hidden, int intermediate, int layers, int heads, int kvHeads,
                       int vocab, int maxPositions, boolean tied, boolean llama3Rope, long seed) {
        public int headDim() {
            return hidden / heads;
        }

        public boolean qkvBias() {
            return architecture.equals("Qwen2ForCausalLM");
        }

        /** A SmolLM-135M-shaped model (hidden 576, 30 layers, 9 heads, 3 KV heads, ffn 1536, vocab 49152, tied). */
        public static Spec smolLm135m() {
            return new Spec("LlamaForCausalLM", 576, 1536, 30, 9, 3, 49152, 2048, true, false, 135);
        }
    }

    private RandomModelWriter() {
    }

    /** The weights in Hugging Face names and shapes, in a fixed order. */
    public static Map<String, float[]> weights(Spec s, Map<String, long[]> shapes) {
        SplittableRandom rnd = new SplittableRandom(s.seed());
        Map<String, float[]> w = new LinkedHashMap<>();
        int h = s.hidden();
        int q = s.heads() * s.headDim();
        int kv = s.kvHeads() * s.headDim();
        put(w, shapes, "model.embed_tokens.weight", normal(rnd, s.vocab() * h, 0.05, 0), s.vocab(), h);
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            put(w, shapes, p + "input_layernorm.weight", normal(rnd, h, 0.1, 1), h);
            put(w, shapes, p + "self_attn.q_proj.weight", normal(rnd, q * h, 1 / Math.sqrt(h), 0), q, h);
            put(w, shapes, p + "self_attn.k_proj.weight", normal(rnd, kv * h, 1 / Math.sqrt(h), 0), kv, h);
            put(w, shapes, p + "self_attn.v_proj.weight", normal(rnd, kv * h, 1 / Math.sqrt(h), 0), kv, h);
            if (s.qkvBias()) {
                put(w, shapes, p + "self_attn.q_proj.bias", normal(rnd, q, 0.1, 0), q);
                put(w, shapes, p + "self_attn.k_proj.bias", normal(rnd, kv, 0.1, 0), kv);
                put(w, shapes, p + "self_attn.v_proj.bias", normal(rnd, kv, 0.1, 0), kv);
            }
            put(w, shapes, p + "self_attn.o_proj.weight", normal(rnd, h * q, 1 / Math.sqrt(q), 0), h, q);
            put(w, shapes, p + "post_attention_layernorm.weight", normal(rnd, h, 0.1, 1), h);
            int f = s.intermediate();
            put(w, shapes, p + "mlp.gate_proj.weight", normal(rnd, f * h, 1 / Math.sqrt(h), 0), f, h);
            put(w, shapes, p + "mlp.up_proj.weight", normal(rnd, f * h, 1 / Math.sqrt(h), 0), f, h);
            put(w, shapes, p + "mlp.down_proj.weight", normal(rnd, h * f, 1 / Math.sqrt(f), 0), h, f);
        }
        put(w, shapes, "model.norm.weight", normal(rnd, h, 0.1, 1), h);
        if (!s.tied()) {
            put(w, shapes, "lm_head.weight", normal(rnd, s.vocab() * h, 1 / Math.sqrt(h), 0), s.vocab(), h);
        }
        return w;
    }

    private static void put(Map<String, float[]> w, Map<String, long[]> shapes, String name, float[] v, long... shape) {
        w.put(name, v);
        shapes.put(name, shape);
    }

    private static float[] normal(SplittableRandom r, int n, double std, double mean) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            // Box-Muller, one value per pair (simple and deterministic)
            double u1 = r.nextDouble();
            double u2 = r.nextDouble();
            v[i] = (float) (mean + std * Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2));
        }
        return v;
    }

    /** Writes a Hugging Face directory with weights in {@code dtype} (F32, F16 or BF16). */
    public static void writeHf(Spec s, Path dir, DType dtype) throws IOException {
        Files.createDirectories(dir);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, float[]> w = weights(s, shapes);
        SafetensorsWriter sw = new SafetensorsWriter();
        w.forEach((k, v) -> sw.add(k, v, shapes.get(k)));
        sw.write(dir.resolve("model.safetensors"), dtype);
        ObjectMapper m = new ObjectMapper();
        ObjectNode c = m.createObjectNode();
        c.putArray("architectures").add(s.architecture());
        c.put("model_type", s.architecture().replace("ForCausalLM", "").toLowerCase());
        c.put("hidden_size", s.hidden());
        c.put("intermediate_size", s.intermediate());
        c.put("num_hidden_layers", s.layers());
        c.put("num_attention_heads", s.heads());
        c.put("num_key_value_heads", s.kvHeads());
        c.put("vocab_size", s.vocab());
        c.put("max_position_embeddings", s.maxPositions());
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.put("tie_word_embeddings", s.tied());
        c.put("hidden_act", "silu");
        c.put("bos_token_id", 0);
        c.put("eos_token_id", 2);
        c.put("torch_dtype", dtype == DType.F32 ? "float32" : dtype == DType.F16 ? "float16" : "bfloat16");
        if (s.llama3Rope()) {
            ObjectNode rs = c.putObject("rope_scaling");
            rs.put("rope_type", "llama3");
            rs.put("factor", 8.0);
            rs.put("low_freq_factor", 1.0);
            rs.put("high_freq_factor", 4.0);
            rs.put("original_max_position_embeddings", 64);
        }
        m.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), c);
        Vocab v = vocab(s.vocab());
        m.writeValue(dir.resolve("tokenizer.json").toFile(), tokenizerJson(m, v));
        ObjectNode tc = m.createObjectNode();
        tc.put("bos_token", SPECIALS.get(0));
        tc.put("eos_token", SPECIALS.get(2));
        tc.put("add_bos_token", false);
        tc.put("model_max_length", s.maxPositions());
        tc.put("tokenizer_class", "GPT2Tokenizer");
        tc.put("chat_template", CHATML);
        m.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer_config.json").toFile(), tc);
    }

    /** Writes the same weights as a GGUF file with 2-D tensors in {@code dtype} (F32, F16 or Q8_0). */
    public static void writeGguf(Spec s, Path file, DType dtype) throws IOException {
        writeGguf(s, file, dtype, g -> { });
    }

    /**
     * Like {@link #writeGguf(Spec, Path, DType)}; {@code edit} may change or remove metadata before the file is written
     * (e.g. drop {@code tokenizer.ggml.add_bos_token}, change {@code tokenizer.ggml.pre}).
     */
    public static void writeGguf(Spec s, Path file, DType dtype, java.util.function.Consumer<GgufWriter> edit)
            throws IOException {
        writeGguf(s, file, dtype, edit, w -> { });
    }

    /**
     * Like {@link #writeGguf(Spec, Path, DType, java.util.function.Consumer)}; {@code weightEdit} may change the
     * weights (Hugging Face names, row-major) before they are written, e.g. zero the LM-head rows of tokens a test
     * never wants generated.
     */
    public static void writeGguf(Spec s, Path file, DType dtype, java.util.function.Consumer<GgufWriter> edit,
                                 java.util.function.Consumer<Map<String, float[]>> weightEdit) throws IOException {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, float[]> w = weights(s, shapes);
        weightEdit.accept(w);
        boolean llama = !s.architecture().equals("Qwen2ForCausalLM");
        String arch = llama ? "llama" : "qwen2";
        GgufWriter g = new GgufWriter();
        g.putString("general.architecture", arch);
        g.putString("general.name", "stoker-random");
        g.putU32("general.file_type", dtype == DType.F32 ? 0 : dtype == DType.F16 ? 1 : 7);
        g.putU32(arch + ".context_length", s.maxPositions());
        g.putU32(arch + ".embedding_length", s.hidden());
        g.putU32(arch + ".block_count", s.layers());
        g.putU32(arch + ".feed_forward_length", s.intermediate());
        g.putU32(arch + ".attention.head_count", s.heads());
        g.putU32(arch + ".attention.head_count_kv", s.kvHeads());
        g.putF32(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
        g.putF32(arch + ".rope.freq_base", 10000f);
        g.putU32(arch + ".rope.dimension_count", s.headDim());
        g.putU32(arch + ".vocab_size", s.vocab());
        Vocab v = vocab(s.vocab());
        g.putString("tokenizer.ggml.model", "gpt2");
        g.putString("tokenizer.ggml.pre", "gpt-2");
        g.putStrings("tokenizer.ggml.tokens", v.tokens);
        int[] types = new int[v.tokens.size()];
        for (int i = 0; i < types.length; i++) {
            types[i] = i < SPECIALS.size() ? 3 : 1;
        }
        g.putI32s("tokenizer.ggml.token_type", types);
        g.putStrings("tokenizer.ggml.merges", v.merges);
        g.putU32("tokenizer.ggml.bos_token_id", 0);
        g.putU32("tokenizer.ggml.eos_token_id", 2);
        g.putU32("tokenizer.ggml.padding_token_id", 0);
        g.putBool("tokenizer.ggml.add_bos_token", false);
        g.putString("tokenizer.chat_template", CHATML);
        if (s.llama3Rope()) {
            int half = s.headDim() / 2;
            float[] f = new float[half];
            double lowW = 64 / 1.0;
            double highW = 64 / 4.0;
            for (int i = 0; i < half; i++) {
                double inv = 1.0 / Math.pow(10000.0, 2.0 * i / s.headDim());
                double wl = 2 * Math.PI / inv;
                if (wl < highW) {
                    f[i] = 1f;
                } else if (wl > lowW) {
                    f[i] = 8f;
                } else {
                    double smooth = (64 / wl - 1.0) / (4.0 - 1.0);
                    f[i] = (float) (1.0 / ((1 - smooth) / 8.0 + smooth));
                }
            }
            g.addTensor("rope_freqs.weight", f, DType.F32, half);
        }
        for (Map.Entry<String, float[]> e : w.entrySet()) {
            String name = e.getKey();
            float[] val = e.getValue();
            long[] shape = shapes.get(name);
            if (llama && name.contains("self_attn.q_proj.")) {
                val = permute(val, s.heads(), shape);
            } else if (llama && name.contains("self_attn.k_proj.")) {
                val = permute(val, s.kvHeads(), shape);
            }
            g.addTensor(GgufNames.toGguf(name), val, dtype, shape);
        }
        edit.accept(g);
        Files.createDirectories(file.toAbsolutePath().getParent());
        g.write(file);
    }

    /**
     * llama.cpp's {@code LlamaModel.permute}: rows of each head go from HF's rotate-half order to interleaved
     * pairs: {@code reshape(heads, 2, rows/heads/2, in).swapaxes(1, 2)}.
     */
    public static float[] permute(float[] w, int heads, long[] shape) {
        int rows = (int) shape[0];
        int in = shape.length > 1 ? (int) shape[1] : 1;
        int hd = rows / heads;
        int half = hd / 2;
        float[] out = new float[w.length];
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < half; j++) {
                for (int k = 0; k < 2; k++) {
                    int src = h * hd + k * half + j;
                    int dst = h * hd + 2 * j + k;
                    System.arraycopy(w, src * in, out, dst * in, in);
                }
            }
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------ tokenizer

    /** A byte-level BPE vocabulary: specials, the 256 byte symbols, merges learned on a small corpus, fillers. */
    public static final class Vocab {
        public final List<String> tokens = new ArrayList<>();
        public final List<String> merges = new ArrayList<>();
    }

    public static Vocab vocab(int size) {
        if (size < SPECIALS.size() + 256) {
            throw new IllegalArgumentException("vocab " + size + " < " + (SPECIALS.size() + 256));
        }
        Vocab v = new Vocab();
        Map<String, Integer> ids = new HashMap<>();
        for (String sp : SPECIALS) {
            ids.put(sp, v.tokens.size());
            v.tokens.add(sp);
        }
        char[] b2u = byteToUnicode();
        for (int b = 0; b < 256; b++) {
            String t = String.valueOf(b2u[b]);
            ids.put(t, v.tokens.size());
            v.tokens.add(t);
        }
        // words: split before spaces, as the GPT-2 pattern roughly does; then merge the most frequent pair
        List<List<String>> words = new ArrayList<>();
        for (String wd : CORPUS.split("(?= )")) {
            List<String> sym = new ArrayList<>();
            for (byte by : wd.getBytes(StandardCharsets.UTF_8)) {
                sym.add(String.valueOf(b2u[by & 0xff]));
            }
            words.add(sym);
        }
        int maxMerges = Math.min(300, size - v.tokens.size());
        for (int m = 0; m < maxMerges; m++) {
            Map<String, Integer> counts = new LinkedHashMap<>();
            for (List<String> wd : words) {
                for (int i = 0; i + 1 < wd.size(); i++) {
                    counts.merge(wd.get(i) + " " + wd.get(i + 1), 1, Integer::sum);
                }
            }
            String best = null;
            int bestN = 1;
            for (Map.Entry<String, Integer> e : counts.entrySet()) {
                if (e.getValue() > bestN) {
                    best = e.getKey();
                    bestN = e.getValue();
                }
            }
            if (best == null) {
                break;
            }
            String[] ab = best.split(" ");
            String merged = ab[0] + ab[1];
            v.merges.add(best);
            if (!ids.containsKey(merged)) {
                ids.put(merged, v.tokens.size());
                v.tokens.add(merged);
            }
            for (List<String> wd : words) {
                for (int i = 0; i + 1 < wd.size(); i++) {
                    if (wd.get(i).equals(ab[0]) && wd.get(i + 1).equals(ab[1])) {
                        wd.set(i, merged);
                        wd.remove(i + 1);
                    }
                }
            }
        }
        for (int i = 0; v.tokens.size() < size; i++) {
            String t = "tok" + i;
            if (!ids.containsKey(t)) {
                ids.put(t, v.tokens.size());
                v.tokens.add(t);
            }
        }
        return v;
    }

    private static ObjectNode tokenizerJson(ObjectMapper m, Vocab v) {
        ObjectNode root = m.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < SPECIALS.size(); i++) {
            ObjectNode t = added.addObject();
            t.put("id", i);
            t.put("content", SPECIALS.get(i));
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", true);
        root.putNull("post_processor");
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
                .put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < v.tokens.size(); i++) {
            vocab.put(v.tokens.get(i), i);
        }
        ArrayNode merges = model.putArray("merges");
        v.merges.forEach(merges::add);
        return root;
    }

    /** GPT-2's reversible byte to printable-unicode map. */
    static char[] byteToUnicode() {
        char[] map = new char[256];
        boolean[] direct = new boolean[256];
        for (int b = '!'; b <= '~'; b++) {
            direct[b] = true;
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            direct[b] = true;
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            direct[b] = true;
        }
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (direct[b]) {
                map[b] = (char) b;
            } else {
                map[b] = (char) (256 + n++);
            }
        }
        return map;
    }
}
