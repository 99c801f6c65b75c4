package io.stoker.llm.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stoker.llm.load.ModelFormatException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face {@code tokenizer.json} run by the Rust tokenizers library through DJL's binding (its native
 * library ships inside the DJL jar and is extracted to {@code DJL_CACHE_DIR}, default {@code ~/.djl.ai}).
 * Truncation and padding are off: the engine checks lengths itself.
 *
 * <p>Thread-safety: the native tokenizer is immutable; encode and decode may run concurrently.
 */
public final class HfTokenizer implements Tokenizer {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer tok;
    private final Map<String, Integer> vocab;
    private final Set<Integer> special;

    private HfTokenizer(HuggingFaceTokenizer tok, Map<String, Integer> vocab, Set<Integer> special) {
        this.tok = tok;
        this.vocab = vocab;
        this.special = Collections.unmodifiableSet(special);
    }

    /** Loads {@code tokenizer.json}. */
    public static HfTokenizer load(Path tokenizerJson) {
        try {
            return fromBytes(Files.readAllBytes(tokenizerJson), tokenizerJson.toString());
        } catch (IOException e) {
            throw new ModelFormatException("cannot read " + tokenizerJson + ": " + e, e);
        }
    }

    /** Loads a {@code tokenizer.json} held in memory; {@code where} names it in errors. */
    public static HfTokenizer fromBytes(byte[] json, String where) {
        Map<String, Integer> vocab = new HashMap<>();
        Set<Integer> special = new HashSet<>();
        try {
            JsonNode root = JSON.readTree(json);
            root.path("model").path("vocab").fields().forEachRemaining(e -> vocab.put(e.getKey(), e.getValue().asInt()));
            for (JsonNode t : root.path("added_tokens")) {
                vocab.put(t.path("content").asText(), t.path("id").asInt());
                if (t.path("special").asBoolean(false)) {
                    special.add(t.path("id").asInt());
                }
            }
        } catch (IOException e) {
            throw new ModelFormatException(where + " is not valid JSON: " + e.getMessage().split("\n")[0], e);
        }
        Map<String, String> opts = new HashMap<>();
        opts.put("truncation", "false");
        opts.put("padding", "false");
        opts.put("addSpecialTokens", "true");
        try {
            return new HfTokenizer(HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), opts), vocab,
                    special);
        } catch (IOException | RuntimeException e) {
            throw new ModelFormatException(where + " cannot be loaded by the tokenizers library: " + e.getMessage(), e);
        }
    }

    @Override
    public int[] encode(String text, boolean addSpecialTokens) {
        long[] ids = tok.encode(text, addSpecialTokens, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return tok.decode(l, skipSpecialTokens);
    }

    @Override
    public int tokenId(String token) {
        Integer id = vocab.get(token);
        return id == null ? -1 : id;
    }

    @Override
    public Set<Integer> specialTokenIds() {
        return special;
    }

    @Override
    public void close() {
        tok.close();
    }
}
