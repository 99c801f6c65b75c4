package io.stoker.llm.tokenizer;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.ModelLoader;
import io.stoker.llm.TestModels;
import io.stoker.llm.tensor.DType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Incremental detokenization against decoding the whole sequence at once, with the byte-level BPE tokenizer of the
 * random test models (multi-byte characters split over byte tokens, special tokens) and a SentencePiece-style
 * Metaspace tokenizer (leading spaces that per-token decoding loses).
 */
class IncrementalDetokenizerTest {
    private static LoadedModel model;

    @BeforeAll
    static void load() {
        model = ModelLoader.load(TestModels.hf(TestModels.GQA1, DType.F32).toString());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static List<String> feed(Tokenizer tok, int[] ids, boolean skipSpecial) {
        IncrementalDetokenizer d = new IncrementalDetokenizer(tok, skipSpecial);
        List<String> deltas = new ArrayList<>();
        for (int id : ids) {
            deltas.add(d.next(id));
        }
        deltas.add(d.flush());
        return deltas;
    }

    @Test
    void shouldEmitOnlyCompleteCharactersWhenMultiByteCharactersSpanByteTokens() {
        Tokenizer tok = model.tokenizer();
        String text = "Price: 5€, rocket 🚀 and naïve café — done.";
        int[] ids = tok.encode(text, false);
        int[] euro = tok.encode("€", false);
        assertThat(euro.length).as("the test needs € split over several byte tokens").isGreaterThan(1);
        List<String> deltas = feed(tok, ids, true);
        assertThat(String.join("", deltas)).isEqualTo(text);
        assertThat(deltas).as("no delta carries a half character").noneMatch(s -> s.indexOf('\uFFFD') >= 0);
        assertThat(deltas).contains("€").contains("🚀");
        assertThat(deltas.get(deltas.size() - 1)).as("nothing held back at the end of valid text").isEmpty();
    }

    @Test
    void shouldSkipSpecialTokensOrKeepThemLikeFullDecoding() {
        Tokenizer tok = model.tokenizer();
        int[] body = tok.encode("Hello world", false);
        int[] ids = new int[body.length + 3];
        ids[0] = 1; // <|im_start|>
        System.arraycopy(body, 0, ids, 1, body.length);
        ids[body.length + 1] = 2; // <|im_end|>
        ids[body.length + 2] = 0; // <|endoftext|>
        assertThat(String.join("", feed(tok, ids, true))).isEqualTo("Hello world").isEqualTo(tok.decode(ids, true));
        assertThat(String.join("", feed(tok, ids, false))).isEqualTo(tok.decode(ids, false))
                .isEqualTo("<|im_start|>Hello world<|im_end|><|endoftext|>");
    }

    @Test
    void shouldMatchFullDecodingOnRandomTokenStreamsIncludingInvalidUtf8() {
        Tokenizer tok = model.tokenizer();
        SplittableRandom rnd = new SplittableRandom(7);
        int vocab = model.config().vocabSize();
        for (int trial = 0; trial < 300; trial++) {
            int[] ids = new int[1 + rnd.nextInt(40)];
            for (int i = 0; i < ids.length; i++) {
                int kind = rnd.nextInt(10);
                // byte tokens (ids 3..258) above all: they make partial and invalid UTF-8 sequences
                ids[i] = kind < 6 ? 3 + rnd.nextInt(256) : kind < 7 ? rnd.nextInt(3) : rnd.nextInt(vocab);
            }
            for (boolean skip : new boolean[]{true, false}) {
                assertThat(String.join("", feed(tok, ids, skip))).as("trial %d skip=%s", trial, skip)
                        .isEqualTo(tok.decode(ids, skip));
            }
        }
    }

    @Test
    void shouldMatchFullDecodingOnGeneratedTextFromEveryStartingPoint() {
        Tokenizer tok = model.tokenizer();
        String text = "The quick brown fox jumps over the lazy dog. Émoji: 😀👍🏽 — ok? 42 answers;"
                + " 日本語テキスト.";
        int[] ids = tok.encode(text, false);
        for (int start = 0; start < ids.length; start++) {
            int[] tail = java.util.Arrays.copyOfRange(ids, start, ids.length);
            assertThat(String.join("", feed(tok, tail, true))).isEqualTo(tok.decode(tail, true));
        }
    }

    @Test
    void shouldKeepSentencePieceSpacesThatPerTokenDecodingLoses() {
        String json = "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,"
                + "\"added_tokens\":[{\"id\":0,\"content\":\"<s>\",\"single_word\":false,\"lstrip\":false,"
                + "\"rstrip\":false,\"normalized\":false,\"special\":true}],"
                + "\"normalizer\":null,"
                + "\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"\u2581\",\"prepend_scheme\":\"always\","
                + "\"split\":true},"
                + "\"post_processor\":null,"
                + "\"decoder\":{\"type\":\"Metaspace\",\"replacement\":\"\u2581\",\"prepend_scheme\":\"always\","
                + "\"split\":true},"
                + "\"model\":{\"type\":\"WordLevel\",\"unk_token\":\"<s>\",\"vocab\":{\"<s>\":0,"
                + "\"\u2581Hello\":1,\"\u2581world\":2,\"!\":3,\"\u2581again\":4}}}";
        try (HfTokenizer tok = HfTokenizer.fromBytes(json.getBytes(StandardCharsets.UTF_8), "metaspace test")) {
            int[] ids = {1, 2, 3, 0, 4};
            String full = tok.decode(ids, true);
            assertThat(full).isEqualTo("Hello world! again");
            StringBuilder naive = new StringBuilder();
            for (int id : ids) {
                naive.append(tok.decode(new int[]{id}, true));
            }
            assertThat(naive.toString()).as("per-token decoding drops the spaces").isNotEqualTo(full);
            assertThat(feed(tok, ids, true)).containsExactly("Hello", " world", "!", "", " again", "");
        }
    }
}
