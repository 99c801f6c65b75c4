package io.stoker.llm;

import io.stoker.llm.load.TensorStore;
import io.stoker.llm.model.llama.LlamaConfig;
import io.stoker.llm.tokenizer.ChatTemplate;
import io.stoker.llm.tokenizer.Tokenizer;

import java.util.Set;

/**
 * A model ready to run: its config, memory-mapped tensors (Hugging Face names), tokenizer and chat template.
 * Closing releases the tokenizer; mappings go with the garbage collector.
 *
 * @param location     what the caller passed (path or URI)
 * @param format       {@code hf} or {@code gguf}
 * @param config       hyperparameters
 * @param tensors      weights by Hugging Face name
 * @param tokenizer    the tokenizer, or null when the model carries none (token ids only)
 * @param chatTemplate the chat template, or null
 * @param eosTokenIds  ids that end generation (config, generation_config and tokenizer EOS)
 */
public record LoadedModel(String location, String format, LlamaConfig config, TensorStore tensors,
                          Tokenizer tokenizer, ChatTemplate chatTemplate, Set<Integer> eosTokenIds)
        implements AutoCloseable {

    /** @return the tokenizer, or an error naming the model when it has none */
    public Tokenizer requireTokenizer() {
        if (tokenizer == null) {
            throw new IllegalArgumentException("model " + location + " has no tokenizer (tokenizer.json); pass token"
                    + " ids instead of text");
        }
        return tokenizer;
    }

    @Override
    public void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
    }
}
