package io.stoker.spark.llm;

import java.util.List;

/**
 * One row's generation, whatever backend produced it (the local engine or an OpenAI-compatible server).
 *
 * @param text            the generated text, or null when the row failed
 * @param inputTokens     prompt tokens (the engine's count, or the server's {@code usage})
 * @param generatedTokens generated tokens
 * @param finishReason    stop, length, ... (error when the row failed)
 * @param tokenIds        generated ids (local engine), or null
 * @param logprobs        per generated token, or null when not asked
 * @param httpStatus      the server's HTTP status (HTTP backend), or null
 * @param rawResponse     the server's response body (HTTP backend), or null
 * @param error           null when fine; else what went wrong (e.g. the server refused the request)
 */
public record RowResult(String text, int inputTokens, int generatedTokens, String finishReason, int[] tokenIds,
                        List<TokenLogprob> logprobs, Integer httpStatus, String rawResponse, String error) {

    /** A generated token's log-probability and the most likely alternatives; {@code tokenId} -1 when unknown. */
    public record TokenLogprob(int tokenId, String token, double logprob, List<TokenLogprob> top) {
    }
}
