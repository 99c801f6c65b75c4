package io.stoker.llm.tokenizer;

import java.util.Set;

/**
 * Text to token ids and back.
 *
 * <p>Thread-safety: implementations may be called from many threads at once.
 */
public interface Tokenizer extends AutoCloseable {
    /**
     * @param addSpecialTokens apply the tokenizer's post-processor (e.g. prepend BOS); chat-templated text already
     *                         carries its special tokens, so it is encoded without
     */
    int[] encode(String text, boolean addSpecialTokens);

    /** Decodes ids; special tokens (BOS, EOS, chat markers) are dropped when {@code skipSpecialTokens}. */
    String decode(int[] ids, boolean skipSpecialTokens);

    /** @return the id of the token with this exact text, or -1 */
    int tokenId(String token);

    /** @return ids of the tokens marked special */
    Set<Integer> specialTokenIds();

    @Override
    void close();
}
