package io.stoker.llm.openai;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An OpenAI-compatible HTTP client ({@code java.net.http} and Jackson, nothing else, so it runs inside Spark
 * executors): {@code /v1/chat/completions} and {@code /v1/completions}, asynchronous, at most
 * {@code maxConcurrentRequests} in flight (the rest wait in a FIFO queue), client-side requests/s and tokens/min
 * limits, retries with jittered exponential backoff on 408, 429, 5xx, connection errors and timeouts (honouring a
 * capped {@code Retry-After}), and a timeout per attempt.
 *
 * <p>{@link #send} never fails its future: when retries run out or the server refuses, the {@link OpenAiResult} says
 * so (failure kind, status, message, attempts). Cancelling a returned future aborts its request.
 *
 * <p>The API key goes only into the request header: never into {@code toString}, logs or result messages (a server
 * that echoes it has it replaced by {@code ***}).
 *
 * <p>Thread-safety: share one client among all threads of a JVM ({@link #shared}); every method is thread-safe.
 */
public final class OpenAiClient implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OpenAiClient.class);
    private static final Map<OpenAiClientConfig, OpenAiClient> SHARED = new ConcurrentHashMap<>();

    private final OpenAiClientConfig config;
    private final String where;
    private final HttpClient http;
    private final ExecutorService httpExecutor;
    private final ScheduledThreadPoolExecutor timer;
    private final Object lock = new Object();
    private final Deque<Call> queue = new ArrayDeque<>();
    private final Set<Call> active = ConcurrentHashMap.newKeySet();
    private final URI chatUri;
    private final URI completionsUri;
    private final TokenBucket requestRate;
    private final TokenBucket tokenRate;
    private int inFlight;
    private boolean pumpScheduled;
    private volatile boolean closed;
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong attempts = new AtomicLong();
    private final AtomicLong retries = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();

    private OpenAiClient(OpenAiClientConfig config) {
        this.config = config;
        this.where = OpenAiClientConfig.redact(config.baseUrl());
        this.chatUri = resolve(config.baseUrl(), OpenAiEndpoint.CHAT_COMPLETIONS);
        this.completionsUri = resolve(config.baseUrl(), OpenAiEndpoint.COMPLETIONS);
        this.httpExecutor = Executors.newCachedThreadPool(daemon("stoker-openai-http"));
        this.timer = new ScheduledThreadPoolExecutor(1, daemon("stoker-openai-timer"));
        timer.setRemoveOnCancelPolicy(true);
        boolean tls = config.baseUrl().getScheme().equals("https");
        this.http = HttpClient.newBuilder()
                .version(tls ? HttpClient.Version.HTTP_2 : HttpClient.Version.HTTP_1_1)
                .connectTimeout(config.connectTimeout())
                .executor(httpExecutor)
                .build();
        long now = System.nanoTime();
        this.requestRate = config.requestsPerSecond() > 0
                ? new TokenBucket(Math.max(1, config.requestsPerSecond()), config.requestsPerSecond(), now) : null;
        this.tokenRate = config.tokensPerMinute() > 0
                ? new TokenBucket(config.tokensPerMinute(), config.tokensPerMinute() / 60.0, now) : null;
    }

    /** A new client with its own connections and threads; close it when done. */
    public static OpenAiClient create(OpenAiClientConfig config) {
        return new OpenAiClient(config);
    }

    /**
     * The JVM-wide client for this configuration (one per executor, shared by every task), created on first use.
     * Its limits (concurrency, rates) therefore hold for the whole JVM.
     */
    public static OpenAiClient shared(OpenAiClientConfig config) {
        return SHARED.compute(config, (k, c) -> c == null || c.closed ? new OpenAiClient(k) : c);
    }

    /** Closes every shared client (e.g. when the executor shuts down). */
    public static void closeShared() {
        for (OpenAiClient c : SHARED.values()) {
            c.close();
        }
        SHARED.clear();
    }

    public OpenAiClientConfig config() {
        return config;
    }

    /**
     * Queues a request. The future completes (normally) with the result once the server answered, retries ran out
     * or the client closed.
     */
    public CompletableFuture<OpenAiResult> send(OpenAiRequest request) {
        Call call = new Call(request, System.nanoTime());
        requests.incrementAndGet();
        call.result.whenComplete((r, e) -> {
            if (e instanceof CancellationException) {
                CompletableFuture<?> f = call.http;
                if (f != null) {
                    f.cancel(true);
                }
            }
        });
        synchronized (lock) {
            if (closed) {
                finish(call, cancelled(call, "the client is closed"));
                return call.result;
            }
            active.add(call);
            queue.addLast(call);
        }
        pump();
        return call.result;
    }

    /** Counters since creation. */
    public record Stats(long requests, long attempts, long retries, long failures, int inFlight, int queued) {
    }

    public Stats stats() {
        synchronized (lock) {
            return new Stats(requests.get(), attempts.get(), retries.get(), failures.get(), inFlight, queue.size());
        }
    }

    // ------------------------------------------------------------------------------------------ dispatch

    private void pump() {
        List<Call> ready = new ArrayList<>();
        synchronized (lock) {
            while (!closed && inFlight < config.maxConcurrentRequests() && !queue.isEmpty()) {
                Call c = queue.peekFirst();
                if (c.result.isDone()) {
                    queue.pollFirst();
                    active.remove(c);
                    continue;
                }
                long now = System.nanoTime();
                long wait = Math.max(requestRate == null ? 0 : requestRate.nanosUntil(1, now),
                        tokenRate == null ? 0 : tokenRate.nanosUntil(c.request.estimatedTokens(), now));
                if (wait > 0) {
                    if (!pumpScheduled) {
                        pumpScheduled = true;
                        timer.schedule(() -> {
                            synchronized (lock) {
                                pumpScheduled = false;
                            }
                            pump();
                        }, wait, TimeUnit.NANOSECONDS);
                    }
                    break;
                }
                if (requestRate != null) {
                    requestRate.take(1, now);
                }
                if (tokenRate != null) {
                    tokenRate.take(c.request.estimatedTokens(), now);
                }
                queue.pollFirst();
                inFlight++;
                ready.add(c);
            }
        }
        for (Call c : ready) {
            dispatch(c);
        }
    }

    private void dispatch(Call call) {
        call.attempts++;
        attempts.incrementAndGet();
        HttpRequest.Builder b = HttpRequest.newBuilder(endpointUri(call.request.endpoint()))
                .timeout(config.requestTimeout())
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(call.request.bytes()));
        config.headers().forEach(b::header);
        if (config.apiKey() != null) {
            b.header(config.apiKeyHeader(), config.apiKeyHeader().equalsIgnoreCase("Authorization")
                    ? "Bearer " + config.apiKey() : config.apiKey());
        }
        CompletableFuture<HttpResponse<String>> f;
        try {
            f = http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        call.http = f;
        call.timedOut = false;
        CompletableFuture<HttpResponse<String>> attempt = f;
        // HttpRequest.timeout covers the wait for headers; this covers a body that stalls too
        call.timeout = timer.schedule(() -> {
            call.timedOut = true;
            attempt.cancel(true);
        }, config.requestTimeout().toNanos(), TimeUnit.NANOSECONDS);
        f.whenComplete((resp, err) -> onAttemptDone(call, resp, err));
    }

    private URI endpointUri(OpenAiEndpoint e) {
        return e == OpenAiEndpoint.CHAT_COMPLETIONS ? chatUri : completionsUri;
    }

    private static URI resolve(URI base, OpenAiEndpoint e) {
        String path = (base.getRawPath() == null ? "" : base.getRawPath()) + e.path();
        return URI.create(base.getScheme() + "://" + base.getRawAuthority() + path
                + (base.getRawQuery() == null ? "" : "?" + base.getRawQuery()));
    }

    private void onAttemptDone(Call call, HttpResponse<String> resp, Throwable err) {
        ScheduledFuture<?> t = call.timeout;
        if (t != null) {
            t.cancel(false);
        }
        long now = System.nanoTime();
        synchronized (lock) {
            inFlight--;
        }
        try {
            handle(call, resp, err, now);
        } finally {
            pump();
        }
    }

    private void handle(Call call, HttpResponse<String> resp, Throwable err, long now) {
        if (call.result.isDone() || closed) {
            refund(call, now);
            finish(call, cancelled(call, closed ? "the client was closed" : "the call was cancelled"));
            return;
        }
        Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
        boolean retryable;
        String why;
        Optional<Duration> retryAfter = Optional.empty();
        if (resp == null) {
            call.lastStatus = 0;
            call.lastBody = null;
            if (call.timedOut || cause instanceof HttpTimeoutException) {
                why = "timed out after " + config.requestTimeout().toMillis() + " ms";
                retryable = config.retryTimeouts();
            } else if (cause instanceof IOException) {
                why = "connection error: " + describe(cause);
                retryable = true;
            } else {
                why = "request failed: " + describe(cause);
                retryable = false;
            }
        } else {
            int s = resp.statusCode();
            call.lastStatus = s;
            call.lastBody = scrub(resp.body());
            if (s >= 200 && s < 300) {
                ResponseParser.Parsed p;
                try {
                    p = ResponseParser.parse(call.request.endpoint(), resp.body());
                } catch (IllegalArgumentException e) {
                    refund(call, now);
                    fail(call, OpenAiResult.Failure.INVALID_RESPONSE, "HTTP " + s + " but " + e.getMessage());
                    return;
                }
                if (tokenRate != null && p.usage() != null) {
                    synchronized (lock) {
                        tokenRate.giveBack(call.request.estimatedTokens() - p.usage().totalTokens(), now);
                    }
                }
                finish(call, new OpenAiResult(null, s, null, call.attempts, elapsed(call), call.lastBody, p.id(),
                        p.choices(), p.usage()));
                return;
            }
            String msg = ResponseParser.errorMessage(call.lastBody);
            why = "HTTP " + s + (msg == null ? "" : ": " + scrub(msg));
            retryable = s == 408 || s == 429 || s >= 500;
            retryAfter = RetryDelays.retryAfter(resp.headers());
        }
        refund(call, now);
        if (!retryable) {
            fail(call, resp == null ? OpenAiResult.Failure.REQUEST_ERROR : OpenAiResult.Failure.HTTP_STATUS, why);
            return;
        }
        if (call.attempts > config.maxRetries()) {
            fail(call, OpenAiResult.Failure.RETRIES_EXHAUSTED, "gave up after " + call.attempts + " attempts; last: "
                    + why);
            return;
        }
        long delay = retryAfter.map(d -> RetryDelays.retryAfterNanos(d, config.maxRetryAfter()))
                .orElseGet(() -> RetryDelays.backoffNanos(call.attempts, config.initialBackoff(),
                        config.maxBackoff()));
        retries.incrementAndGet();
        if (LOG.isDebugEnabled()) {
            LOG.debug("POST {}{}: {}; retry {}/{} in {} ms", where, call.request.endpoint().path(), why,
                    call.attempts, config.maxRetries(), delay / 1_000_000);
        }
        timer.schedule(() -> {
            synchronized (lock) {
                if (closed) {
                    finish(call, cancelled(call, "the client was closed"));
                    return;
                }
                queue.addFirst(call);
            }
            pump();
        }, delay, TimeUnit.NANOSECONDS);
    }

    private void refund(Call call, long now) {
        if (tokenRate != null) {
            synchronized (lock) {
                tokenRate.giveBack(call.request.estimatedTokens(), now);
            }
        }
    }

    private void fail(Call call, OpenAiResult.Failure kind, String why) {
        failures.incrementAndGet();
        String msg = "POST " + where + call.request.endpoint().path() + " failed: " + why
                + (kind == OpenAiResult.Failure.RETRIES_EXHAUSTED ? "" : " (attempt " + call.attempts + ")");
        LOG.debug("{}", msg);
        finish(call, new OpenAiResult(kind, call.lastStatus, msg, call.attempts, elapsed(call), call.lastBody, null,
                List.of(), null));
    }

    private OpenAiResult cancelled(Call call, String why) {
        return new OpenAiResult(OpenAiResult.Failure.CANCELLED, call.lastStatus, "POST " + where
                + call.request.endpoint().path() + " cancelled: " + why, call.attempts, elapsed(call), call.lastBody,
                null, List.of(), null);
    }

    private void finish(Call call, OpenAiResult r) {
        active.remove(call);
        call.result.complete(r);
    }

    private static Duration elapsed(Call call) {
        return Duration.ofNanos(System.nanoTime() - call.start);
    }

    private String scrub(String s) {
        String key = config.apiKey();
        return s == null || key == null || key.length() < 4 ? s : s.replace(key, "***");
    }

    private String describe(Throwable t) {
        String m = t.getMessage();
        return scrub(t.getClass().getSimpleName() + (m == null || m.isEmpty() ? "" : " (" + m + ")"));
    }

    /** Fails queued and in-flight requests with {@link OpenAiResult.Failure#CANCELLED} and stops the threads. */
    @Override
    public void close() {
        List<Call> all;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            queue.clear();
            all = new ArrayList<>(active);
        }
        SHARED.remove(config, this);
        for (Call c : all) {
            CompletableFuture<?> f = c.http;
            if (f != null) {
                f.cancel(true);
            }
            finish(c, cancelled(c, "the client was closed"));
        }
        timer.shutdownNow();
        httpExecutor.shutdown();
    }

    @Override
    public String toString() {
        return "OpenAiClient[" + where + ", maxConcurrentRequests=" + config.maxConcurrentRequests() + "]";
    }

    private static ThreadFactory daemon(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** One request through its attempts. */
    private static final class Call {
        final OpenAiRequest request;
        final long start;
        final CompletableFuture<OpenAiResult> result = new CompletableFuture<>();
        volatile CompletableFuture<HttpResponse<String>> http;
        volatile ScheduledFuture<?> timeout;
        volatile boolean timedOut;
        int attempts;
        int lastStatus;
        String lastBody;

        Call(OpenAiRequest request, long start) {
            this.request = request;
            this.start = start;
        }
    }
}
