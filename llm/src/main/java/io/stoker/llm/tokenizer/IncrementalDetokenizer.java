package io.stoker.llm.tokenizer;

import java.util.Arrays;

/**
 * Turns generated token ids, fed one at a time, into text deltas whose concatenation (plus {@link #flush()}) equals
 * decoding all the ids at once.
 *
 * <p>Two things make per-token decoding wrong: a token may hold only part of a UTF-8 sequence (byte-level BPE splits
 * "€" into three byte tokens; decoding one alone gives U+FFFD), and decoders such as SentencePiece's Metaspace drop
 * the leading space of the first token of whatever they decode. So each step decodes a short window that starts one
 * emitted step back ({@code prefixOffset}) and emits only the text past the window's already-emitted part; text that
 * ends in U+FFFD (an incomplete sequence) is held back until a later token completes it or {@link #flush()} gives it
 * up. Special tokens are skipped when {@code skipSpecialTokens} (they decode to nothing and simply widen the window).
 *
 * <p>Not thread-safe: one instance per generated sequence, fed from one thread.
 */
public final class IncrementalDetokenizer {
    private static final char REPLACEMENT = '\uFFFD';

    private final Tokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private int[] ids = new int[16];
    private int size;
    /** Start of the decode window: ids before it are emitted and never decoded again. */
    private int prefixOffset;
    /** Ids before it are emitted; {@code prefixText} is the text of [prefixOffset, readOffset). */
    private int readOffset;
    private String prefixText = "";

    public IncrementalDetokenizer(Tokenizer tokenizer, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /**
     * Adds one token.
     *
     * @return the text this token completes; empty when it is held back (an incomplete UTF-8 sequence or a skipped
     *         special token)
     */
    public String next(int tokenId) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = tokenId;
        String text = decode(prefixOffset, size);
        if (text.length() <= prefixText.length() || text.charAt(text.length() - 1) == REPLACEMENT) {
            return "";
        }
        String delta = text.substring(prefixText.length());
        prefixOffset = readOffset;
        readOffset = size;
        prefixText = decode(prefixOffset, readOffset);
        return delta;
    }

    /** @return the text still held back (e.g. a trailing incomplete sequence, as U+FFFD); call once, at the end */
    public String flush() {
        String text = decode(prefixOffset, size);
        String rest = text.length() > prefixText.length() ? text.substring(prefixText.length()) : "";
        prefixOffset = size;
        readOffset = size;
        prefixText = "";
        return rest;
    }

    /** @return how many tokens were fed */
    public int tokenCount() {
        return size;
    }

    private String decode(int from, int to) {
        return from == to ? "" : tokenizer.decode(Arrays.copyOfRange(ids, from, to), skipSpecialTokens);
    }
}
