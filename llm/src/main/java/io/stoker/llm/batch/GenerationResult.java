package io.stoker.llm.batch;

import io.stoker.llm.sample.TokenLogprobs;

import java.util.List;

/**
 * A finished request.
 *
 * @param promptIds    the prompt as token ids
 * @param tokenIds     generated ids (including a final EOS or stop token)
 * @param text         generated text, special tokens skipped, cut before a stop string
 * @param finishReason why it ended
 * @param logprobs     per generated token when requested, else empty
 * @param preemptions  how many times the request was preempted and recomputed
 */
public record GenerationResult(int[] promptIds, int[] tokenIds, String text, FinishReason finishReason,
                               List<TokenLogprobs> logprobs, int preemptions) {
}
