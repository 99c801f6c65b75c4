package io.stoker.serve;

import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.tokenizer.ChatTemplate;

import java.util.List;

/**
 * A validated {@code /v1/chat/completions} or {@code /v1/completions} request.
 *
 * @param chat          true for chat completions
 * @param prompts       one entry per prompt (chat: one); each gets {@code n} choices
 * @param n             choices per prompt
 * @param stream        answer as server-sent events
 * @param includeUsage  {@code stream_options.include_usage}: a last chunk with usage
 * @param maxTokens     {@code max_tokens} / {@code max_completion_tokens} as sent, or null (chat: the rest of the
 *                      context; completions: 16)
 * @param params        sampling values ({@code maxTokens} is set per prompt once its length is known)
 * @param topLogprobs   alternatives per token to report; -1 = no logprobs
 */
record CompletionRequest(boolean chat, List<Prompt> prompts, int n, boolean stream, boolean includeUsage,
                         Integer maxTokens, SamplingParams params, int topLogprobs) {

    /** One prompt: chat messages, text, or token ids (exactly one set). */
    record Prompt(List<ChatTemplate.Message> messages, String text, int[] ids) {
    }

    boolean logprobs() {
        return topLogprobs >= 0;
    }

    int choices() {
        return prompts.size() * n;
    }
}
