package io.stoker.serve;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.stoker.llm.batch.LlmEngine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.IntSupplier;

/**
 * The server's Prometheus metrics (client_java's registry and text format): HTTP requests by route and status,
 * prompt and generated tokens, finished requests by reason, rejections, engine state (running, waiting, KV blocks),
 * admitted requests, and latency histograms (end to end, time to first token, time per output token).
 *
 * <p>Thread-safety: every method is thread-safe.
 */
final class ServeMetrics {
    private static final double[] LATENCY = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
    private static final double[] PER_TOKEN = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    final Counter httpRequests;
    final Counter promptTokens;
    final Counter generationTokens;
    final Counter finished;
    final Counter rejected;
    final Histogram requestLatency;
    final Histogram timeToFirstToken;
    final Histogram timePerOutputToken;

    ServeMetrics(LlmEngine engine, IntSupplier admitted) {
        httpRequests = Counter.builder().name("stoker_serve_http_requests_total")
                .help("HTTP requests answered, by route and status").labelNames("route", "status").register(registry);
        promptTokens = Counter.builder().name("stoker_serve_prompt_tokens_total")
                .help("Prompt tokens of finished requests").register(registry);
        generationTokens = Counter.builder().name("stoker_serve_generation_tokens_total")
                .help("Tokens generated for finished requests").register(registry);
        finished = Counter.builder().name("stoker_serve_requests_finished_total")
                .help("Generation requests (choices) finished, by reason: stop, length, cancelled (client went away),"
                        + " error").labelNames("reason").register(registry);
        rejected = Counter.builder().name("stoker_serve_requests_rejected_total")
                .help("Requests refused before generation, by reason: queue_full, engine_unavailable, invalid")
                .labelNames("reason").register(registry);
        requestLatency = Histogram.builder().name("stoker_serve_request_duration_seconds")
                .help("Completion requests from arrival to the last byte").classicOnly().classicUpperBounds(LATENCY)
                .register(registry);
        timeToFirstToken = Histogram.builder().name("stoker_serve_time_to_first_token_seconds")
                .help("From arrival to a choice's first generated token").classicOnly().classicUpperBounds(LATENCY)
                .register(registry);
        timePerOutputToken = Histogram.builder().name("stoker_serve_time_per_output_token_seconds")
                .help("Between consecutive generated tokens of a choice").classicOnly()
                .classicUpperBounds(PER_TOKEN).register(registry);
        GaugeWithCallback.builder().name("stoker_serve_requests_running")
                .help("Sequences the engine is running").callback(cb -> cb.call(engine.stats().running()))
                .register(registry);
        GaugeWithCallback.builder().name("stoker_serve_requests_waiting")
                .help("Sequences waiting in the engine for a slot or KV blocks")
                .callback(cb -> cb.call(engine.stats().waiting())).register(registry);
        GaugeWithCallback.builder().name("stoker_serve_requests_admitted")
                .help("Generation requests admitted and not yet finished (bounded by --max-pending)")
                .callback(cb -> cb.call(admitted.getAsInt())).register(registry);
        GaugeWithCallback.builder().name("stoker_serve_kv_cache_usage_ratio")
                .help("Fraction of KV-cache blocks in use").callback(cb -> {
                    LlmEngine.Stats s = engine.stats();
                    cb.call(s.totalBlocks() == 0 ? 0 : 1.0 - (double) s.freeBlocks() / s.totalBlocks());
                }).register(registry);
        GaugeWithCallback.builder().name("stoker_serve_kv_cache_free_blocks")
                .help("Free KV-cache blocks").callback(cb -> cb.call(engine.stats().freeBlocks())).register(registry);
        GaugeWithCallback.builder().name("stoker_serve_kv_cache_total_blocks")
                .help("KV-cache blocks in all").callback(cb -> cb.call(engine.stats().totalBlocks()))
                .register(registry);
        GaugeWithCallback.builder().name("stoker_serve_engine_preemptions")
                .help("Sequences preempted (recomputed) since start")
                .callback(cb -> cb.call(engine.stats().preemptions())).register(registry);
    }

    /** @return the Prometheus text exposition (format 0.0.4) */
    byte[] scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
        try {
            writer.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    String contentType() {
        return writer.getContentType();
    }
}
