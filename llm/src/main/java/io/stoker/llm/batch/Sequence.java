package io.stoker.llm.batch;

import io.stoker.llm.sample.Sampler;
import io.stoker.llm.sample.TokenLogprobs;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A request inside the engine: its tokens (prompt then output), how many of them have KV in the cache, its block
 * table, and its sampler. Mutable; owned by the engine thread.
 */
final class Sequence {
    final long id;
    final int[] prompt;
    final Sampler sampler;
    final TokenListener listener;
    final CompletableFuture<GenerationResult> result;
    final int maxLen; // prompt + output may not exceed this (context or KV capacity)
    final List<TokenLogprobs> logprobs = new ArrayList<>();
    int[] tokens;
    int length;
    int computed;     // tokens whose K/V are in the cache
    int[] blocks = new int[4];
    int numBlocks;
    int preemptions;
    boolean running;

    Sequence(long id, int[] prompt, Sampler sampler, TokenListener listener, CompletableFuture<GenerationResult> result,
             int maxLen) {
        this.id = id;
        this.prompt = prompt;
        this.sampler = sampler;
        this.listener = listener;
        this.result = result;
        this.maxLen = maxLen;
        this.tokens = Arrays.copyOf(prompt, prompt.length + 16);
        this.length = prompt.length;
    }

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[length++] = token;
    }

    int outputLength() {
        return length - prompt.length;
    }

    int[] output() {
        return Arrays.copyOfRange(tokens, prompt.length, length);
    }

    void addBlock(int b) {
        if (numBlocks == blocks.length) {
            blocks = Arrays.copyOf(blocks, blocks.length * 2);
        }
        blocks[numBlocks++] = b;
    }

    @Override
    public String toString() {
        return "Sequence[" + id + ", len=" + length + ", computed=" + computed + ", blocks=" + numBlocks + "]";
    }
}
