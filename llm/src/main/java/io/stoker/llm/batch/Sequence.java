package io.stoker.llm.batch;

import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.sample.TokenLogprobs;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A request inside the engine: its tokens (prompt then output), how many of them have KV in the cache, its block
 * table, and what decides when it ends. Mutable; owned by the engine thread.
 */
final class Sequence {
    final long id;
    final int[] prompt;
    final SamplingParams params;
    final long seed;
    final TokenListener listener;
    final CompletableFuture<GenerationResult> result;
    final int maxLen; // prompt + output may not exceed this (context or KV capacity)
    final StopStrings stops; // null without stop strings
    final List<TokenLogprobs> logprobs = new ArrayList<>();
    int[] tokens;
    int length;
    int computed;      // tokens whose K/V are in the cache
    int[] blocks = new int[4];
    int numBlocks;
    long[] hashes = new long[4]; // chained hashes of the sequence's full blocks (tokens only: valid across preemption)
    int numHashes;
    int registeredBlocks; // leading blocks registered in (or taken from) the prefix cache
    int sentBlocks;    // blocks the runner already has in its table
    int preemptions;
    int cachedTokens;  // prompt tokens found in the prefix cache (last admission)
    boolean running;
    boolean onRunner;  // the runner holds its state (sent as a new request, not finished or preempted since)
    FinishReason finish;

    Sequence(long id, int[] prompt, SamplingParams params, long seed, TokenListener listener,
             CompletableFuture<GenerationResult> result, int maxLen, StopStrings stops) {
        this.id = id;
        this.prompt = prompt;
        this.params = params;
        this.seed = seed;
        this.listener = listener;
        this.result = result;
        this.maxLen = maxLen;
        this.stops = stops;
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

    /** @return the chained hash of full block {@code i} (tokens {@code [i * bs, (i + 1) * bs)} must be known) */
    long blockHash(int i, int bs) {
        while (numHashes <= i) {
            if (numHashes == hashes.length) {
                hashes = Arrays.copyOf(hashes, hashes.length * 2);
            }
            long parent = numHashes == 0 ? 0 : hashes[numHashes - 1];
            hashes[numHashes] = io.stoker.llm.kv.BlockPool.hash(parent, tokens, numHashes * bs, bs);
            numHashes++;
        }
        return hashes[i];
    }

    @Override
    public String toString() {
        return "Sequence[" + id + ", len=" + length + ", computed=" + computed + ", blocks=" + numBlocks + "]";
    }
}
