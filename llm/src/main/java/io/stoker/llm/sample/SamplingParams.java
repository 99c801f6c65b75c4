package io.stoker.llm.sample;

import java.util.List;
import java.util.Set;

/**
 * How to pick each next token, with vLLM's names and semantics. Immutable; the constructor validates every field
 * and names it in the error. Defaults: greedy ({@code temperature=0}), 16 tokens, no penalties.
 *
 * <p>Order of application: repetition, presence and frequency penalties; then temperature; then top-k, top-p and
 * min-p filters; then a draw from the request's own random stream ({@code seed}). Logprobs are computed from the
 * raw model logits (before penalties and temperature).
 *
 * @param temperature       0 = greedy; otherwise logits are divided by it (must be >= 0)
 * @param topP              keep the smallest set of most likely tokens whose probability sums to at least topP, (0, 1]
 * @param topK              keep the k most likely tokens; 0 = all
 * @param minP              drop tokens less likely than minP times the most likely one, [0, 1]
 * @param repetitionPenalty > 0; logits of tokens in prompt or output are divided by it when positive, multiplied
 *                          when negative (1 = off)
 * @param presencePenalty   [-2, 2], subtracted once from tokens that appeared in the output
 * @param frequencyPenalty  [-2, 2], subtracted per occurrence in the output
 * @param maxTokens         most tokens to generate, >= 1
 * @param stop              strings that end generation (not included in the text)
 * @param stopTokenIds      token ids that end generation (besides the model's EOS)
 * @param ignoreEos         keep generating after EOS
 * @param logprobs          return this many top logprobs per token, [0, 20]
 * @param seed              per-request random seed (null = random); equal seeds give equal outputs whatever else
 *                          runs in the batch
 */
public record SamplingParams(double temperature, double topP, int topK, double minP, double repetitionPenalty,
                             double presencePenalty, double frequencyPenalty, int maxTokens, List<String> stop,
                             Set<Integer> stopTokenIds, boolean ignoreEos, int logprobs, Long seed)
        implements java.io.Serializable {
    public static final int MAX_LOGPROBS = 20;

    public SamplingParams {
        check(Double.isFinite(temperature) && temperature >= 0, "temperature=" + temperature + " must be >= 0");
        check(topP > 0 && topP <= 1, "top_p=" + topP + " must be in (0, 1]");
        check(topK >= 0, "top_k=" + topK + " must be >= 0 (0 disables it)");
        check(minP >= 0 && minP <= 1, "min_p=" + minP + " must be in [0, 1]");
        check(Double.isFinite(repetitionPenalty) && repetitionPenalty > 0,
                "repetition_penalty=" + repetitionPenalty + " must be > 0 (1 disables it)");
        check(presencePenalty >= -2 && presencePenalty <= 2, "presence_penalty=" + presencePenalty
                + " must be in [-2, 2]");
        check(frequencyPenalty >= -2 && frequencyPenalty <= 2, "frequency_penalty=" + frequencyPenalty
                + " must be in [-2, 2]");
        check(maxTokens >= 1, "max_tokens=" + maxTokens + " must be >= 1");
        check(logprobs >= 0 && logprobs <= MAX_LOGPROBS, "logprobs=" + logprobs + " must be in [0, " + MAX_LOGPROBS
                + "]");
        stop = stop == null ? List.of() : List.copyOf(stop);
        for (String s : stop) {
            check(s != null && !s.isEmpty(), "stop strings must not be empty");
        }
        stopTokenIds = stopTokenIds == null ? Set.of() : Set.copyOf(stopTokenIds);
    }

    /** @return whether any of the repetition, presence or frequency penalties is on */
    public boolean hasPenalties() {
        return repetitionPenalty != 1 || presencePenalty != 0 || frequencyPenalty != 0;
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    public boolean greedy() {
        return temperature == 0;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Greedy decoding of up to {@code maxTokens} tokens. */
    public static SamplingParams greedy(int maxTokens) {
        return builder().maxTokens(maxTokens).build();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.temperature = temperature;
        b.topP = topP;
        b.topK = topK;
        b.minP = minP;
        b.repetitionPenalty = repetitionPenalty;
        b.presencePenalty = presencePenalty;
        b.frequencyPenalty = frequencyPenalty;
        b.maxTokens = maxTokens;
        b.stop = stop;
        b.stopTokenIds = stopTokenIds;
        b.ignoreEos = ignoreEos;
        b.logprobs = logprobs;
        b.seed = seed;
        return b;
    }

    /** Mutable builder; {@link #build()} validates. */
    public static final class Builder {
        private double temperature = 0;
        private double topP = 1;
        private int topK = 0;
        private double minP = 0;
        private double repetitionPenalty = 1;
        private double presencePenalty = 0;
        private double frequencyPenalty = 0;
        private int maxTokens = 16;
        private List<String> stop = List.of();
        private Set<Integer> stopTokenIds = Set.of();
        private boolean ignoreEos;
        private int logprobs;
        private Long seed;

        public Builder temperature(double v) {
            temperature = v;
            return this;
        }

        public Builder topP(double v) {
            topP = v;
            return this;
        }

        public Builder topK(int v) {
            topK = v;
            return this;
        }

        public Builder minP(double v) {
            minP = v;
            return this;
        }

        public Builder repetitionPenalty(double v) {
            repetitionPenalty = v;
            return this;
        }

        public Builder presencePenalty(double v) {
            presencePenalty = v;
            return this;
        }

        public Builder frequencyPenalty(double v) {
            frequencyPenalty = v;
            return this;
        }

        public Builder maxTokens(int v) {
            maxTokens = v;
            return this;
        }

        public Builder stop(List<String> v) {
            stop = v;
            return this;
        }

        public Builder stopTokenIds(Set<Integer> v) {
            stopTokenIds = v;
            return this;
        }

        public Builder ignoreEos(boolean v) {
            ignoreEos = v;
            return this;
        }

        public Builder logprobs(int v) {
            logprobs = v;
            return this;
        }

        public Builder seed(Long v) {
            seed = v;
            return this;
        }

        public SamplingParams build() {
            return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty,
                    frequencyPenalty, maxTokens, stop, stopTokenIds, ignoreEos, logprobs, seed);
        }
    }
}
