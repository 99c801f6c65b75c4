package io.stoker.spark.llm;

import io.stoker.llm.openai.OpenAiClient;
import io.stoker.llm.openai.OpenAiRequest;
import io.stoker.llm.openai.OpenAiResult;

import java.util.ArrayList;
import java.util.List;

/**
 * The sending stage of an executor's HTTP processor: hands each prepared row to the executor's shared
 * {@link OpenAiClient} (bounded concurrency, rate limits, retries) and returns at once. A request whose retries ran
 * out, or that the server refused, becomes a row error carrying the HTTP status and the server's message.
 */
public final class HttpSender {
    private final List<OpenAiClient> clients;
    private int turn;

    /** @param clients one per server (a managed server may run several processes); rows go round-robin */
    public HttpSender(List<OpenAiClient> clients) {
        this.clients = List.copyOf(clients);
    }

    /** Graph step: sends each prepared row. */
    public RowBatch enqueue(RowBatch batch) {
        boolean raw = batch.source().spec().returnRawResponse();
        for (RowOutcome r : batch.rows()) {
            if (r.request == null) {
                continue;
            }
            r.submitNanos = System.nanoTime();
            OpenAiClient client = clients.get(turn++ % clients.size());
            var f = client.send((OpenAiRequest) r.request);
            r.backendFuture = f;
            r.result = f.thenApply(res -> toRow(res, raw)).whenComplete((x, e) -> r.doneNanos = System.nanoTime());
        }
        return batch;
    }

    static RowResult toRow(OpenAiResult res, boolean raw) {
        Integer status = res.status() == 0 ? null : res.status();
        String body = raw ? res.rawBody() : null;
        if (!res.ok()) {
            return new RowResult(null, 0, 0, "error", null, null, status, body, res.error());
        }
        OpenAiResult.Usage u = res.usage();
        List<RowResult.TokenLogprob> lps = null;
        if (!res.choices().isEmpty() && !res.choices().get(0).logprobs().isEmpty()) {
            lps = new ArrayList<>();
            for (OpenAiResult.TokenLogprob t : res.choices().get(0).logprobs()) {
                List<RowResult.TokenLogprob> top = new ArrayList<>();
                for (OpenAiResult.TopLogprob a : t.top()) {
                    top.add(new RowResult.TokenLogprob(-1, a.token(), a.logprob(), List.of()));
                }
                lps.add(new RowResult.TokenLogprob(-1, t.token(), t.logprob(), top));
            }
        }
        String text = res.text() == null ? "" : res.text();
        return new RowResult(text, u == null ? 0 : (int) u.promptTokens(), u == null ? 0 : (int) u.completionTokens(),
                res.finishReason(), null, lps, status, body, null);
    }
}
