package io.stoker.llm.openai;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.util.List;

/**
 * The outcome of one request after any retries. A failure is data, not an exception: {@link #ok()} is false and
 * {@link #failure()} and {@link #error()} say why, so a caller can turn it into a row error or fail the job.
 *
 * @param failure  null when the request succeeded, else the kind of failure
 * @param status   HTTP status of the last attempt; 0 when no response came (connection error, timeout)
 * @param error    null when ok; else a message naming the endpoint, status or cause and the number of attempts
 * @param attempts HTTP attempts made (1 = no retry)
 * @param elapsed  from the call to the result, including queueing and backoff
 * @param rawBody  the last response body as received, or null when there was none
 * @param id       the response's {@code id}, or null
 * @param choices  the choices, by {@code index}; empty on failure
 * @param usage    token counts from the response, or null when the server sent none
 */
public record OpenAiResult(Failure failure, int status, String error, int attempts, Duration elapsed, String rawBody,
                           String id, List<Choice> choices, Usage usage) {

    /** Why a request failed. */
    public enum Failure {
        /** The server answered with a status that is not retried (e.g. 400, 401, 404). */
        HTTP_STATUS,
        /** Every attempt hit a retryable condition (408, 429, 5xx, connection error, timeout). */
        RETRIES_EXHAUSTED,
        /** No response and not retried: the request could not be sent, or it timed out with retryTimeouts off. */
        REQUEST_ERROR,
        /** A 2xx response whose body is not a completion. */
        INVALID_RESPONSE,
        /** The client was closed (or the call cancelled) before an answer. */
        CANCELLED
    }

    public OpenAiResult {
        choices = choices == null ? List.of() : List.copyOf(choices);
    }

    /** @return true when the server answered 2xx with a readable completion */
    public boolean ok() {
        return failure == null;
    }

    /** @return the first choice's text, or null when there is none */
    public String text() {
        return choices.isEmpty() ? null : choices.get(0).text();
    }

    /** @return the first choice's finish reason, or null */
    public String finishReason() {
        return choices.isEmpty() ? null : choices.get(0).finishReason();
    }

    /**
     * One choice.
     *
     * @param index        its {@code index}
     * @param text         {@code message.content} (chat) or {@code text} (completions); null for e.g. a tool call
     * @param finishReason {@code stop}, {@code length}, ...; null if absent
     * @param logprobs     per generated token when the request asked for them, else empty
     * @param rawLogprobs  the choice's {@code logprobs} JSON as sent, or null
     */
    public record Choice(int index, String text, String finishReason, List<TokenLogprob> logprobs,
                         JsonNode rawLogprobs) {
        public Choice {
            logprobs = logprobs == null ? List.of() : List.copyOf(logprobs);
        }
    }

    /** One generated token's logprob and the most likely alternatives (best first). */
    public record TokenLogprob(String token, double logprob, List<TopLogprob> top) {
        public TokenLogprob {
            top = top == null ? List.of() : List.copyOf(top);
        }
    }

    /** An alternative token and its logprob. */
    public record TopLogprob(String token, double logprob) {
    }

    /** The response's {@code usage}. */
    public record Usage(long promptTokens, long completionTokens, long totalTokens) {
    }
}
