package io.stoker.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stoker.llm.load.GgufFile;
import io.stoker.llm.load.GgufNames;
import io.stoker.llm.load.ModelFiles;
import io.stoker.llm.load.ModelFormatException;
import io.stoker.llm.load.SafetensorsFile;
import io.stoker.llm.load.TensorStore;
import io.stoker.llm.model.llama.LlamaConfig;
import io.stoker.llm.tensor.MappedTensor;
import io.stoker.llm.tokenizer.ChatTemplate;
import io.stoker.llm.tokenizer.GgufVocab;
import io.stoker.llm.tokenizer.HfTokenizer;
import io.stoker.llm.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Loads a model from a Hugging Face directory ({@code config.json}, {@code model.safetensors} or shards with
 * {@code model.safetensors.index.json}, {@code tokenizer.json}, {@code tokenizer_config.json}) or a GGUF file, from
 * a local path or a Hadoop-FS URI. GGUF tensor names are mapped to Hugging Face names here and only here.
 */
public final class ModelLoader {
    private static final Logger LOG = LoggerFactory.getLogger(ModelLoader.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private ModelLoader() {
    }

    /**
     * @param location a directory, a {@code .gguf} file, a URI (hdfs://, s3a://, file:...), or {@value DemoModel#NAME}
     *                 for the bundled {@link DemoModel}
     * @throws ModelFormatException naming the file, tensor or field on bad input
     */
    public static LoadedModel load(String location) {
        Path p = DemoModel.isDemo(location) ? DemoModel.directory() : ModelFiles.resolve(location);
        if (Files.isDirectory(p)) {
            if (Files.exists(p.resolve("config.json"))) {
                return loadHf(location, p);
            }
            try (Stream<Path> s = Files.list(p)) {
                List<Path> ggufs = s.filter(f -> f.toString().endsWith(".gguf")).sorted().collect(Collectors.toList());
                if (ggufs.size() == 1) {
                    return loadGguf(location, ggufs.get(0));
                }
            } catch (IOException e) {
                throw new ModelFormatException("cannot list " + p + ": " + e, e);
            }
            throw new ModelFormatException(p + " has no config.json (and not exactly one .gguf file); pass a Hugging"
                    + " Face model directory or a GGUF file");
        }
        return loadGguf(location, p);
    }

    // ------------------------------------------------------------------------------------------ Hugging Face

    private static LoadedModel loadHf(String location, Path dir) {
        Path cfgFile = dir.resolve("config.json");
        JsonNode cfgJson = readJson(cfgFile);
        LlamaConfig cfg = LlamaConfig.fromJson(cfgJson, cfgFile.toString());
        Map<String, MappedTensor> tensors = new LinkedHashMap<>();
        Map<String, Path> origin = new LinkedHashMap<>();
        Path index = dir.resolve("model.safetensors.index.json");
        List<Path> files = new ArrayList<>();
        if (Files.exists(index)) {
            JsonNode wm = readJson(index).path("weight_map");
            Set<String> names = new TreeSet<>();
            wm.fields().forEachRemaining(e -> names.add(e.getValue().asText()));
            for (String n : names) {
                Path f = dir.resolve(n);
                if (!Files.exists(f)) {
                    throw new ModelFormatException(index + " lists shard '" + n + "', which is missing from " + dir);
                }
                files.add(f);
            }
        } else if (Files.exists(dir.resolve("model.safetensors"))) {
            files.add(dir.resolve("model.safetensors"));
        } else {
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(f -> f.toString().endsWith(".safetensors")).sorted().forEach(files::add);
            } catch (IOException e) {
                throw new ModelFormatException("cannot list " + dir + ": " + e, e);
            }
        }
        if (files.isEmpty()) {
            throw new ModelFormatException(dir + " has no model.safetensors (or index); only safetensors weights are"
                    + " supported in Hugging Face directories");
        }
        for (Path f : files) {
            SafetensorsFile.read(f, tensors, origin);
        }
        TensorStore store = new TensorStore(tensors, origin, "model " + dir);
        Tokenizer tok = null;
        ChatTemplate tmpl = null;
        Set<Integer> eos = new LinkedHashSet<>(cfg.eosTokenIds());
        Path tj = dir.resolve("tokenizer.json");
        if (Files.exists(tj)) {
            tok = HfTokenizer.load(tj);
        }
        Path tc = dir.resolve("tokenizer_config.json");
        if (Files.exists(tc)) {
            JsonNode t = readJson(tc);
            String bos = tokenText(t.get("bos_token"));
            String eosTok = tokenText(t.get("eos_token"));
            String template = null;
            JsonNode ct = t.get("chat_template");
            if (ct != null && ct.isTextual()) {
                template = ct.asText();
            } else if (ct != null && ct.isArray()) {
                for (JsonNode c : ct) {
                    if (c.path("name").asText().equals("default")) {
                        template = c.path("template").asText();
                    }
                }
            }
            if (template == null && Files.exists(dir.resolve("chat_template.jinja"))) {
                try {
                    template = Files.readString(dir.resolve("chat_template.jinja"));
                } catch (IOException e) {
                    throw new ModelFormatException("cannot read " + dir.resolve("chat_template.jinja") + ": " + e, e);
                }
            }
            if (template != null) {
                tmpl = new ChatTemplate(template, bos, eosTok);
            }
            if (eosTok != null && tok != null && tok.tokenId(eosTok) >= 0) {
                eos.add(tok.tokenId(eosTok));
            }
        }
        Path gc = dir.resolve("generation_config.json");
        if (Files.exists(gc)) {
            JsonNode e = readJson(gc).path("eos_token_id");
            if (e.isArray()) {
                e.forEach(n -> eos.add(n.asInt()));
            } else if (e.isNumber()) {
                eos.add(e.asInt());
            }
        }
        LOG.info("loaded {} ({}, {} layers, hidden {}, {} tensors, {} MB mapped)", location, cfg.architecture(),
                cfg.numHiddenLayers(), cfg.hiddenSize(), tensors.size(), store.totalBytes() >> 20);
        return new LoadedModel(location, "hf", cfg, store, tok, tmpl, eos);
    }

    private static String tokenText(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        return n.isTextual() ? n.asText() : n.path("content").asText(null);
    }

    private static JsonNode readJson(Path f) {
        try {
            return JSON.readTree(f.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(f + " is not valid JSON: " + e.getMessage().split("\n")[0]
                    + "; fix or re-download the file", e);
        }
    }

    // ------------------------------------------------------------------------------------------ GGUF

    private static LoadedModel loadGguf(String location, Path file) {
        GgufFile g = GgufFile.open(file);
        String arch = g.string("general.architecture");
        String hfArch;
        if ("llama".equals(arch)) {
            hfArch = "LlamaForCausalLM";
        } else if ("qwen2".equals(arch)) {
            hfArch = "Qwen2ForCausalLM";
        } else {
            throw new ModelFormatException(file + ": general.architecture '" + arch + "' is not supported (llama,"
                    + " qwen2)");
        }
        Map<String, MappedTensor> tensors = new LinkedHashMap<>();
        Map<String, Path> origin = new LinkedHashMap<>();
        for (Map.Entry<String, MappedTensor> e : g.tensors().entrySet()) {
            String hf = GgufNames.toHf(e.getKey());
            if (hf != null) {
                tensors.put(hf, e.getValue());
                origin.put(hf, file);
            }
        }
        TensorStore store = new TensorStore(tensors, origin, "GGUF file " + file, n -> {
            String stored = GgufNames.toGguf(n);
            return stored != null ? stored : n;
        });
        String pre = arch + ".";
        int hidden = g.requireNumber(pre + "embedding_length").intValue();
        int heads = g.requireNumber(pre + "attention.head_count").intValue();
        int kvHeads = g.number(pre + "attention.head_count_kv", heads).intValue();
        List<?> toks = g.metadata().get("tokenizer.ggml.tokens") instanceof List
                ? (List<?>) g.metadata().get("tokenizer.ggml.tokens") : null;
        MappedTensor embd = g.tensors().get("token_embd.weight");
        int vocab = g.number(pre + "vocab_size", toks != null ? toks.size() : embd != null ? embd.rows() : 0).intValue();
        // end of generation as llama.cpp decides it: eos/eot/eom ids plus end-of-turn tokens found by their text
        List<Integer> eos = new ArrayList<>(GgufVocab.endOfGeneration(g.metadata()));
        int bos = g.number("tokenizer.ggml.bos_token_id", -1).intValue();
        float[] freqFactors = g.tensors().containsKey("rope_freqs.weight")
                ? g.tensors().get("rope_freqs.weight").toFloatArray() : null;
        LlamaConfig cfg = new LlamaConfig(hfArch, hidden, g.requireNumber(pre + "feed_forward_length").intValue(),
                g.requireNumber(pre + "block_count").intValue(), heads, kvHeads,
                g.number(pre + "attention.key_length", hidden / heads).intValue(), vocab,
                g.number(pre + "context_length", 2048).intValue(),
                g.number(pre + "attention.layer_norm_rms_epsilon", 1e-5).doubleValue(),
                g.number(pre + "rope.freq_base", 10000.0).doubleValue(), null,
                !g.tensors().containsKey("output.weight"), hfArch.equals("Qwen2ForCausalLM"),
                g.tensors().containsKey("blk.0.attn_output.bias"), 0, false, null, bos, eos)
                .withGgufRope("llama".equals(arch), freqFactors);
        Tokenizer tok = null;
        ChatTemplate tmpl = null;
        if (toks != null) {
            tok = HfTokenizer.fromBytes(GgufVocab.toTokenizerJson(g.metadata(), file.toString()),
                    file + " (embedded vocabulary)");
            String t = g.string("tokenizer.chat_template");
            if (t != null) {
                tmpl = new ChatTemplate(t, bos >= 0 ? String.valueOf(toks.get(bos)) : "",
                        eos.isEmpty() ? "" : String.valueOf(toks.get(eos.get(0))));
            }
        }
        LOG.info("loaded {} (GGUF {}, {} layers, hidden {}, {} tensors, {} MB mapped)", location, arch,
                cfg.numHiddenLayers(), cfg.hiddenSize(), tensors.size(), store.totalBytes() >> 20);
        return new LoadedModel(location, "gguf", cfg, store, tok, tmpl, new LinkedHashSet<>(eos));
    }
}
