package io.stoker.llm.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.load.ModelFormatException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rebuilds a Hugging Face {@code tokenizer.json} from a GGUF file's embedded vocabulary
 * ({@code tokenizer.ggml.*}), so the same tokenizers library runs it.
 *
 * <ul>
 *   <li>{@code gpt2} (byte-level BPE): tokens and merges as stored; the pre-tokenizer regex follows
 *       {@code tokenizer.ggml.pre} (llama-bpe / llama3, qwen2, else GPT-2's).</li>
 *   <li>{@code llama} (SentencePiece BPE): merges are derived from the piece scores the way transformers'
 *       {@code LlamaConverter} does; byte fallback, {@code ▁} for spaces.</li>
 * </ul>
 * Token types 3 (control) become special added tokens, 4 (user-defined) plain added tokens.
 *
 * <p>Two rules follow llama.cpp ({@code llama-vocab.cpp}) rather than Hugging Face, so a GGUF file behaves as it does
 * there: whether encoding adds BOS when {@code tokenizer.ggml.add_bos_token} is absent ({@link #addsBos}), and which
 * tokens end generation ({@link #endOfGeneration}).
 */
public final class GgufVocab {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
            + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
            + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** Pre-tokenizers for which llama.cpp adds BOS by default (its LLAMA3 group, tekken, chameleon). */
    private static final Set<String> BOS_BY_DEFAULT_PRE = Set.of("llama3", "llama-v3", "llama-bpe", "falcon3",
            "falcon-h1", "pixtral", "midm-2.0", "lfm2", "tekken", "chameleon");
    /** Token texts llama.cpp treats as end of generation, besides the eos/eot/eom ids in the metadata. */
    private static final Set<String> EOG_TEXTS = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>",
            "<|call|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>",
            "<end_of_utterance>", "<\uff5cend\u2581of\u2581sentence\uff5c>", "<|fim_pad|>", "<|fim_repo|>",
            "<|repo_name|>", "<|file_sep|>");

    private GgufVocab() {
    }

    /**
     * Whether encoding with special tokens prepends BOS: {@code tokenizer.ggml.add_bos_token} when present; otherwise
     * llama.cpp's default: yes for SentencePiece vocabularies ({@code llama}) and for byte-level BPE with a Llama 3
     * style pre-tokenizer ({@code llama-bpe}, {@code llama3}, ...), no for other BPE vocabularies.
     */
    public static boolean addsBos(Map<String, Object> meta) {
        Object key = meta.get("tokenizer.ggml.add_bos_token");
        if (key instanceof Boolean) {
            return (Boolean) key;
        }
        String model = String.valueOf(meta.get("tokenizer.ggml.model"));
        if (model.equals("llama")) {
            return true;
        }
        return model.equals("gpt2")
                && BOS_BY_DEFAULT_PRE.contains(String.valueOf(meta.getOrDefault("tokenizer.ggml.pre", "default")));
    }

    /**
     * The token ids that end generation, as llama.cpp decides: {@code tokenizer.ggml.eos_token_id},
     * {@code eot_token_id} and {@code eom_token_id} when present, plus every token whose text names an end of turn
     * ({@code <|eot_id|>}, {@code <|im_end|>}, {@code <|end|>}, {@code <end_of_turn>}, {@code <|endoftext|>}, ...).
     * As in llama.cpp, {@code <|end|>} does not end generation in vocabularies that also have {@code <|return|>} and
     * {@code <|call|>} (o200k_harmony).
     */
    public static Set<Integer> endOfGeneration(Map<String, Object> meta) {
        Set<Integer> ids = new java.util.LinkedHashSet<>();
        for (String k : new String[]{"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
            "tokenizer.ggml.eom_token_id"}) {
            if (meta.get(k) instanceof Number) {
                ids.add(((Number) meta.get(k)).intValue());
            }
        }
        if (!(meta.get("tokenizer.ggml.tokens") instanceof List)) {
            return ids;
        }
        List<?> tokens = (List<?>) meta.get("tokenizer.ggml.tokens");
        Map<String, Integer> named = new HashMap<>();
        for (int i = 0; i < tokens.size(); i++) {
            String t = String.valueOf(tokens.get(i));
            if (EOG_TEXTS.contains(t)) {
                named.putIfAbsent(t, i);
            }
        }
        if (named.containsKey("<|return|>") && named.containsKey("<|call|>")) {
            named.remove("<|end|>");
        }
        ids.addAll(named.values());
        return ids;
    }

    /**
     * @param meta GGUF metadata
     * @param where the file, for errors
     * @return tokenizer.json bytes
     */
    public static byte[] toTokenizerJson(Map<String, Object> meta, String where) {
        String model = String.valueOf(meta.get("tokenizer.ggml.model"));
        List<String> tokens = strings(meta.get("tokenizer.ggml.tokens"), "tokenizer.ggml.tokens", where);
        List<?> types = meta.get("tokenizer.ggml.token_type") instanceof List
                ? (List<?>) meta.get("tokenizer.ggml.token_type") : null;
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < tokens.size(); i++) {
            int type = types != null && i < types.size() ? ((Number) types.get(i)).intValue() : 1;
            if (type == 3 || type == 4) {
                ObjectNode t = added.addObject();
                t.put("id", i);
                t.put("content", tokens.get(i));
                t.put("single_word", false);
                t.put("lstrip", false);
                t.put("rstrip", false);
                t.put("normalized", false);
                t.put("special", type == 3);
            }
        }
        boolean addBos = addsBos(meta);
        Object bos = meta.get("tokenizer.ggml.bos_token_id");
        if (model.equals("gpt2")) {
            root.putNull("normalizer");
            String pre = String.valueOf(meta.getOrDefault("tokenizer.ggml.pre", "default"));
            String regex = pre.equals("llama-bpe") || pre.equals("llama3") ? LLAMA3_REGEX
                    : pre.equals("qwen2") ? QWEN2_REGEX : null;
            if (regex == null) {
                ObjectNode p = root.putObject("pre_tokenizer");
                p.put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", true);
            } else {
                ObjectNode p = root.putObject("pre_tokenizer");
                p.put("type", "Sequence");
                ArrayNode seq = p.putArray("pretokenizers");
                ObjectNode split = seq.addObject();
                split.put("type", "Split");
                split.putObject("pattern").put("Regex", regex);
                split.put("behavior", "Isolated").put("invert", false);
                seq.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", false)
                        .put("use_regex", false);
            }
            postProcessor(root, addBos, bos, tokens);
            root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
                    .put("use_regex", true);
            ObjectNode m = bpe(root, tokens);
            m.put("byte_fallback", false);
            ArrayNode merges = m.putArray("merges");
            for (String s : strings(meta.get("tokenizer.ggml.merges"), "tokenizer.ggml.merges", where)) {
                merges.add(s);
            }
        } else if (model.equals("llama")) {
            ObjectNode norm = root.putObject("normalizer");
            norm.put("type", "Sequence");
            ArrayNode ns = norm.putArray("normalizers");
            ns.addObject().put("type", "Prepend").put("prepend", "\u2581");
            ObjectNode rep = ns.addObject();
            rep.put("type", "Replace");
            rep.putObject("pattern").put("String", " ");
            rep.put("content", "\u2581");
            root.putNull("pre_tokenizer");
            postProcessor(root, addBos, bos, tokens);
            ObjectNode dec = root.putObject("decoder");
            dec.put("type", "Sequence");
            ArrayNode ds = dec.putArray("decoders");
            ObjectNode r = ds.addObject();
            r.put("type", "Replace");
            r.putObject("pattern").put("String", "\u2581");
            r.put("content", " ");
            ds.addObject().put("type", "ByteFallback");
            ds.addObject().put("type", "Fuse");
            ds.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
            ObjectNode m = bpe(root, tokens);
            m.put("byte_fallback", true);
            m.put("fuse_unk", true);
            m.put("unk_token", "<unk>");
            List<?> scores = meta.get("tokenizer.ggml.scores") instanceof List ? (List<?>) meta.get("tokenizer.ggml.scores")
                    : null;
            ArrayNode merges = m.putArray("merges");
            for (String s : spmMerges(tokens, scores)) {
                merges.add(s);
            }
        } else {
            throw new ModelFormatException(where + ": tokenizer.ggml.model '" + model + "' is not supported (gpt2,"
                    + " llama); pass a Hugging Face directory with tokenizer.json instead");
        }
        try {
            return JSON.writeValueAsBytes(root);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode bpe(ObjectNode root, List<String> tokens) {
        ObjectNode m = root.putObject("model");
        m.put("type", "BPE");
        m.putNull("dropout");
        m.putNull("unk_token");
        m.putNull("continuing_subword_prefix");
        m.putNull("end_of_word_suffix");
        m.put("fuse_unk", false);
        ObjectNode v = m.putObject("vocab");
        for (int i = 0; i < tokens.size(); i++) {
            v.put(tokens.get(i), i);
        }
        return m;
    }

    private static void postProcessor(ObjectNode root, boolean addBos, Object bos, List<String> tokens) {
        if (!addBos || !(bos instanceof Number)) {
            root.putNull("post_processor");
            return;
        }
        int id = ((Number) bos).intValue();
        String b = tokens.get(id);
        ObjectNode p = root.putObject("post_processor");
        p.put("type", "TemplateProcessing");
        ArrayNode single = p.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", b).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = p.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", b).put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode st = p.putObject("special_tokens").putObject(b);
        st.put("id", b);
        st.putArray("ids").add(id);
        st.putArray("tokens").add(b);
    }

    /** Merges (a, b) for every piece a+b in the vocabulary, highest-scoring merged piece first. */
    static List<String> spmMerges(List<String> tokens, List<?> scores) {
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < tokens.size(); i++) {
            ids.put(tokens.get(i), i);
        }
        List<int[]> merges = new ArrayList<>(); // {merged id, left id, right id}
        for (int i = 0; i < tokens.size(); i++) {
            String t = tokens.get(i);
            for (int k = 1; k < t.length(); k++) {
                Integer a = ids.get(t.substring(0, k));
                Integer b = ids.get(t.substring(k));
                if (a != null && b != null) {
                    merges.add(new int[]{i, a, b});
                }
            }
        }
        double[] sc = new double[tokens.size()];
        for (int i = 0; i < sc.length; i++) {
            sc[i] = scores != null && i < scores.size() ? ((Number) scores.get(i)).doubleValue() : -i;
        }
        merges.sort(Comparator.<int[]>comparingDouble(m -> -sc[m[0]]).thenComparingInt(m -> m[1])
                .thenComparingInt(m -> m[2]));
        List<String> out = new ArrayList<>(merges.size());
        for (int[] m : merges) {
            out.add(tokens.get(m[1]) + " " + tokens.get(m[2]));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static List<String> strings(Object v, String key, String where) {
        if (!(v instanceof List)) {
            throw new ModelFormatException(where + ": GGUF metadata '" + key + "' is missing; the file carries no"
                    + " vocabulary");
        }
        return (List<String>) v;
    }

    static String describe(Object o) {
        return o instanceof Object[] ? Arrays.toString((Object[]) o) : String.valueOf(o);
    }
}
