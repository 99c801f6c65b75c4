package io.stoker.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.stoker.llm.batch.EngineDeadException;
import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.batch.TokenListener;
import io.stoker.llm.sample.SamplingParams;
import io.stoker.llm.sample.TokenLogprobs;
import io.stoker.llm.tokenizer.IncrementalDetokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One completion request on one connection: tokenizes its prompts, admits and submits {@code prompts x n} engine
 * requests (the engine batches them with every other client's), and answers either one JSON body or a stream of
 * server-sent events ending in {@code data: [DONE]}. If the client goes away first, {@link #abort()} cancels the
 * engine requests, which the engine drops (freeing their KV blocks) at its next step.
 *
 * <p>Threading: everything runs on the connection's event loop; the engine's token callbacks and completions are
 * handed to it with {@code execute}, so per-choice state needs no locks.
 */
final class CompletionExchange {
    private static final Logger LOG = LoggerFactory.getLogger(CompletionExchange.class);

    private final ChannelHandlerContext ctx;
    private final OpenAiServer server;
    private final CompletionRequest req;
    private final String route;
    private final Runnable onDone;
    private final String id;
    private final long created = System.currentTimeMillis() / 1000;
    private final long startNanos = System.nanoTime();
    private final List<ChoiceState> choices = new ArrayList<>();
    private long promptTokens;
    private long completionTokens;
    private int remaining;
    private boolean aborted;
    private boolean done;
    private ApiError failure;

    CompletionExchange(ChannelHandlerContext ctx, OpenAiServer server, CompletionRequest req, String route,
                       Runnable onDone) {
        this.ctx = ctx;
        this.server = server;
        this.req = req;
        this.route = route;
        this.onDone = onDone;
        this.id = (req.chat() ? "chatcmpl-" : "cmpl-") + String.format("%016x%016x",
                ThreadLocalRandom.current().nextLong(), ThreadLocalRandom.current().nextLong());
    }

    /**
     * Tokenizes, admits and submits.
     *
     * @throws ApiError before anything was submitted (bad prompt, too long, queue full, engine unavailable)
     */
    void start() {
        LlmEngine engine = server.engine();
        int maxLen = engine.maxModelLen();
        int vocab = engine.model().config().vocabSize();
        List<int[]> ids = new ArrayList<>();
        List<Integer> maxTokens = new ArrayList<>();
        String promptParam = req.chat() ? "messages" : "prompt";
        for (int p = 0; p < req.prompts().size(); p++) {
            CompletionRequest.Prompt pr = req.prompts().get(p);
            String where = req.prompts().size() > 1 ? promptParam + "[" + p + "]" : promptParam;
            int[] promptIds;
            try {
                promptIds = engine.promptIds(pr.ids() != null ? GenerationRequest.ofIds(pr.ids(), req.params())
                        : pr.text() != null ? GenerationRequest.ofText(pr.text(), req.params())
                        : GenerationRequest.ofChat(pr.messages(), req.params()));
            } catch (IllegalArgumentException e) {
                throw ApiError.badRequest(where, e.getMessage());
            }
            for (int t : promptIds) {
                if (t < 0 || t >= vocab) {
                    throw ApiError.badRequest(where, "prompt token id " + t + " is outside the vocabulary [0, " + vocab
                            + ")");
                }
            }
            if (promptIds.length == 0) {
                throw ApiError.badRequest(where, "the prompt is empty; give at least one token");
            }
            if (promptIds.length >= maxLen) {
                throw new ApiError(HttpResponseStatus.BAD_REQUEST, "invalid_request_error", where,
                        "context_length_exceeded", "This model's maximum context length is " + maxLen + " tokens, but"
                        + " the prompt has " + promptIds.length + " tokens; shorten it to at most " + (maxLen - 1));
            }
            Integer mt = req.maxTokens();
            if (mt != null && req.chat() && promptIds.length + (long) mt > maxLen) {
                throw new ApiError(HttpResponseStatus.BAD_REQUEST, "invalid_request_error", "max_tokens",
                        "context_length_exceeded", "This model's maximum context length is " + maxLen + " tokens;"
                        + " the prompt has " + promptIds.length + " and max_tokens asks for " + mt + " more; lower"
                        + " max_tokens to at most " + (maxLen - promptIds.length));
            }
            ids.add(promptIds);
            maxTokens.add(Math.min(mt == null ? Integer.MAX_VALUE : mt, maxLen - promptIds.length));
            promptTokens += promptIds.length;
        }
        if (!server.admission().tryAcquire(req.choices())) {
            server.metrics().rejected.labelValues("queue_full").inc();
            throw new ApiError(HttpResponseStatus.TOO_MANY_REQUESTS, "rate_limit_exceeded", null, "queue_full",
                    "The server is at its limit of " + server.admission().limit() + " pending generations"
                            + " (--max-pending); retry after a short wait");
        }
        remaining = req.choices();
        int index = 0;
        for (int p = 0; p < ids.size(); p++) {
            for (int k = 0; k < req.n(); k++) {
                SamplingParams.Builder b = req.params().toBuilder().maxTokens(maxTokens.get(p));
                if (req.params().seed() != null) {
                    b.seed(req.params().seed() + k);
                }
                ChoiceState c = new ChoiceState(index++, b.build());
                choices.add(c);
                try {
                    c.future = engine.submit(GenerationRequest.ofIds(ids.get(p), c.params), c);
                } catch (RuntimeException e) {
                    abortSubmitted(choices.size() - 1);
                    server.admission().release(req.choices() - (choices.size() - 1));
                    if (e instanceof IllegalArgumentException) {
                        throw ApiError.badRequest(promptParam, e.getMessage());
                    }
                    server.metrics().rejected.labelValues("engine_unavailable").inc();
                    throw new ApiError(HttpResponseStatus.SERVICE_UNAVAILABLE, "server_error", null,
                            "engine_unavailable", "The engine cannot take requests: " + e.getMessage());
                }
                c.future.whenComplete((r, e) -> ctx.executor().execute(() -> onChoiceDone(c, r, e)));
            }
        }
        if (!ctx.channel().isActive()) {
            abort(); // the client left while its prompt was being tokenized
            return;
        }
        if (req.stream()) {
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
            head.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
            HttpUtil.setTransferEncodingChunked(head, true);
            ctx.write(head);
            if (req.chat()) {
                for (ChoiceState c : choices) {
                    event(server.json().chunk(true, id, created, c.index, "assistant", "", null, req.topLogprobs(),
                            0, null, req.includeUsage()));
                }
            }
            ctx.flush();
        }
    }

    /** Drops the submitted requests after a failed start: their completions only release admission. */
    private void abortSubmitted(int submitted) {
        aborted = true;
        for (int i = 0; i < submitted; i++) {
            choices.get(i).future.cancel(true);
        }
    }

    /** The client went away: cancel every engine request still running. Idempotent. */
    void abort() {
        if (aborted || done) {
            return;
        }
        aborted = true;
        for (ChoiceState c : choices) {
            if (c.future != null && c.future.cancel(true)) {
                server.metrics().finished.labelValues("cancelled").inc();
            }
        }
        LOG.debug("{}: client went away; cancelled its {} unfinished generations", id, remaining);
    }

    private void onChoiceDone(ChoiceState c, GenerationResult r, Throwable e) {
        server.admission().release(1);
        remaining--;
        if (aborted) {
            return;
        }
        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (cause != null) {
            server.metrics().finished.labelValues("error").inc();
            boolean dead = cause instanceof EngineDeadException || cause instanceof CancellationException;
            ApiError err = new ApiError(dead ? HttpResponseStatus.SERVICE_UNAVAILABLE
                    : HttpResponseStatus.INTERNAL_SERVER_ERROR, "server_error", null, null,
                    "generation failed: " + cause.getMessage());
            LOG.warn("{}: choice {} failed", id, c.index, cause);
            if (req.stream()) {
                event(err.toJson());
            } else if (failure == null) {
                failure = err;
            }
        } else {
            c.result = r;
            completionTokens += r.tokenIds().length;
            server.metrics().finished.labelValues(r.finishReason().label()).inc();
            server.metrics().generationTokens.inc(r.tokenIds().length);
            if (req.stream()) {
                String sent = c.decoded.substring(0, c.sent);
                String rest = "";
                if (r.text().startsWith(sent)) {
                    rest = r.text().substring(sent.length());
                } else {
                    LOG.warn("{}: streamed text of choice {} is not a prefix of its final text", id, c.index);
                }
                if (!rest.isEmpty()) {
                    event(chunk(c, rest, null, null));
                }
                event(chunk(c, null, null, r.finishReason().label()));
            }
        }
        if (remaining == 0) {
            finish();
        }
    }

    private void finish() {
        done = true;
        server.metrics().promptTokens.inc(promptTokens);
        server.metrics().requestLatency.observe((System.nanoTime() - startNanos) / 1e9);
        if (req.stream()) {
            if (req.includeUsage()) {
                event(server.json().usageChunk(req.chat(), id, created, promptTokens, completionTokens));
            }
            ctx.write(new DefaultHttpContent(Unpooled.copiedBuffer("data: [DONE]\n\n", StandardCharsets.UTF_8)));
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            server.metrics().httpRequests.labelValues(route, "200").inc();
        } else if (failure != null) {
            server.respondError(ctx, route, failure);
        } else {
            List<ResponseJson.Choice> out = new ArrayList<>();
            for (ChoiceState c : choices) {
                out.add(new ResponseJson.Choice(c.index, c.result.text(), c.result.finishReason().label(),
                        c.result.logprobs()));
            }
            ObjectNode body = req.chat()
                    ? server.json().chatCompletion(id, created, out, promptTokens, completionTokens, req.topLogprobs())
                    : server.json().textCompletion(id, created, out, promptTokens, completionTokens,
                    req.topLogprobs());
            server.respondJson(ctx, route, HttpResponseStatus.OK, body);
        }
        onDone.run();
    }

    private ObjectNode chunk(ChoiceState c, String text, List<TokenLogprobs> lps, String finishReason) {
        ObjectNode o = server.json().chunk(req.chat(), id, created, c.index, null, text, lps, req.topLogprobs(),
                c.lpOffset, finishReason, req.includeUsage());
        if (lps != null) {
            for (TokenLogprobs lp : lps) {
                c.lpOffset += server.json().tokenText(lp.token()).length();
            }
        }
        return o;
    }

    private void event(ObjectNode o) {
        byte[] json = Json.bytes(o);
        byte[] buf = new byte[json.length + 8];
        System.arraycopy("data: ".getBytes(StandardCharsets.US_ASCII), 0, buf, 0, 6);
        System.arraycopy(json, 0, buf, 6, json.length);
        buf[buf.length - 2] = '\n';
        buf[buf.length - 1] = '\n';
        ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(buf)));
    }

    /** One choice: its engine request and, when streaming, the text released so far. */
    private final class ChoiceState implements TokenListener {
        final int index;
        final SamplingParams params;
        final IncrementalDetokenizer detok;
        /** A stop string may arrive over several tokens: hold back this many characters until the choice ends. */
        final int holdBack;
        final StringBuilder decoded = new StringBuilder();
        CompletableFuture<GenerationResult> future;
        GenerationResult result;
        int sent;
        /** Where the first stop string starts in {@code decoded}, or -1. */
        int stopCut = -1;
        int tokens;
        int lpOffset;
        long lastTokenNanos;

        ChoiceState(int index, SamplingParams params) {
            this.index = index;
            this.params = params;
            this.detok = new IncrementalDetokenizer(server.engine().model().requireTokenizer(), true);
            int longest = 0;
            for (String s : params.stop()) {
                longest = Math.max(longest, s.length());
            }
            this.holdBack = Math.max(0, longest - 1);
        }

        private int firstStop(int from) {
            int best = -1;
            for (String stop : params.stop()) {
                int i = decoded.indexOf(stop, from);
                if (i >= 0 && (best < 0 || i < best)) {
                    best = i;
                }
            }
            return best;
        }

        /** Engine thread: hand the token to the event loop. */
        @Override
        public void onToken(int token, TokenLogprobs lp) {
            ctx.executor().execute(() -> tokenArrived(token, lp));
        }

        @Override
        public void onToken(int token) {
            onToken(token, null);
        }

        @Override
        public String toString() {
            return "choice " + index;
        }

        private void tokenArrived(int token, TokenLogprobs lp) {
            if (aborted) {
                return;
            }
            long now = System.nanoTime();
            if (tokens++ == 0) {
                server.metrics().timeToFirstToken.observe((now - startNanos) / 1e9);
            } else {
                server.metrics().timePerOutputToken.observe((now - lastTokenNanos) / 1e9);
            }
            lastTokenNanos = now;
            if (!req.stream()) {
                return;
            }
            decoded.append(detok.next(token));
            int releasable = decoded.length() - holdBack;
            if (stopCut < 0 && !params.stop().isEmpty()) {
                // one token may bring a whole stop string and more: never release text from a stop string on
                stopCut = firstStop(Math.max(0, sent - holdBack));
            }
            if (stopCut >= 0) {
                releasable = Math.min(releasable, stopCut);
            }
            if (releasable > 0 && Character.isHighSurrogate(decoded.charAt(releasable - 1))) {
                releasable--;
            }
            String text = "";
            if (releasable > sent) {
                text = decoded.substring(sent, releasable);
                sent = releasable;
            }
            List<TokenLogprobs> lps = req.logprobs() && lp != null ? List.of(lp) : null;
            if (!text.isEmpty() || lps != null) {
                event(chunk(this, text, lps, null));
            }
        }
    }
}
