package io.stoker.llm.batch;

import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.tokenizer.ChatTemplate;

import java.util.List;

/**
 * One prompt to complete: token ids, raw text (encoded with the tokenizer's special tokens, e.g. BOS), or chat
 * messages (rendered with the model's chat template and {@code add_generation_prompt}). Exactly one is set.
 */
public record GenerationRequest(int[] promptIds, String prompt, List<ChatTemplate.Message> messages,
                                SamplingParams params) {
    public GenerationRequest {
        int set = (promptIds != null ? 1 : 0) + (prompt != null ? 1 : 0) + (messages != null ? 1 : 0);
        if (set != 1) {
            throw new IllegalArgumentException("a request needs exactly one of promptIds, prompt or messages");
        }
        if (params == null) {
            throw new IllegalArgumentException("sampling params must not be null");
        }
    }

    public static GenerationRequest ofIds(int[] ids, SamplingParams p) {
        return new GenerationRequest(ids.clone(), null, null, p);
    }

    public static GenerationRequest ofText(String text, SamplingParams p) {
        return new GenerationRequest(null, text, null, p);
    }

    public static GenerationRequest ofChat(List<ChatTemplate.Message> messages, SamplingParams p) {
        return new GenerationRequest(null, null, List.copyOf(messages), p);
    }
}
