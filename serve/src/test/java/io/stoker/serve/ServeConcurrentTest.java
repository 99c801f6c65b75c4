package io.stoker.serve;

import io.stoker.llm.batch.GenerationRequest;
import io.stoker.llm.batch.GenerationResult;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.sample.SamplingParams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * 64 concurrent streaming clients on one server (one engine), 16 of which hang up mid-stream (half with a TCP
 * reset): the others get the output they would get alone, the engine batched them together, and once all is done
 * every KV block is free again and nothing is left admitted, running or waiting.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ServeConcurrentTest {
    private static final int CLIENTS = 64;
    private static final int LEAVERS = 16;
    private static final int TOKENS = 40;

    private static String body(int i, int maxTokens) {
        return "{\"model\": \"stoker-test\", \"stream\": true, \"temperature\": 0, \"ignore_eos\": true,"
                + " \"max_tokens\": " + maxTokens + ", \"prompt\": \"client " + i + " says hello\"}";
    }

    @Test
    void shouldBatchConcurrentClientsAndFreeEveryKvBlockWhenSomeHangUpMidStream() throws Exception {
        try (ServeFixture fx = new ServeFixture(ServeFixture.engineConfig().withKvCacheBytes(8L << 20), c -> c)) {
            LlmEngine engine = fx.engine;
            List<CompletableFuture<GenerationResult>> direct = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                direct.add(engine.submit(GenerationRequest.ofText("client " + i + " says hello",
                        SamplingParams.builder().maxTokens(TOKENS).ignoreEos(true).build())));
            }
            List<String> expected = new ArrayList<>();
            for (CompletableFuture<GenerationResult> f : direct) {
                expected.add(f.get(60, TimeUnit.SECONDS).text());
            }
            LlmEngine.Stats before = engine.stats();
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            CountDownLatch go = new CountDownLatch(1);
            List<CompletableFuture<HttpResponse<String>>> stayers = new ArrayList<>();
            List<Thread> leavers = new ArrayList<>();
            List<Integer> leaverEvents = new java.util.concurrent.CopyOnWriteArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                int id = i;
                if (i % (CLIENTS / LEAVERS) == 0) {
                    Thread t = new Thread(() -> leaverEvents.add(hangUpAfterThreeEvents(fx.server.port(), id, go)));
                    t.start();
                    leavers.add(t);
                } else {
                    HttpRequest req = HttpRequest.newBuilder(URI.create(fx.baseUrl() + "/completions"))
                            .timeout(Duration.ofSeconds(120)).header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body(i, TOKENS))).build();
                    stayers.add(CompletableFuture.supplyAsync(() -> {
                        try {
                            go.await();
                            return http.send(req, HttpResponse.BodyHandlers.ofString());
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }, r -> new Thread(r).start()));
                }
            }
            int[] maxRunning = new int[1];
            Thread sampler = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    maxRunning[0] = Math.max(maxRunning[0], engine.stats().running());
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            sampler.start();
            go.countDown();
            for (Thread t : leavers) {
                t.join(120_000);
            }
            assertThat(leaverEvents).hasSize(LEAVERS).allMatch(n -> n == 3);
            int s = 0;
            for (int i = 0; i < CLIENTS; i++) {
                if (i % (CLIENTS / LEAVERS) == 0) {
                    continue;
                }
                HttpResponse<String> r = stayers.get(s++).get(120, TimeUnit.SECONDS);
                assertThat(r.statusCode()).isEqualTo(200);
                List<String> events = new Http.Reply(r.statusCode(), r.body(), r.headers()).events();
                assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
                assertThat(Http.streamedText(events, false, 0)).as("client %d", i).isEqualTo(expected.get(i));
            }

            sampler.interrupt();
            sampler.join();
            long deadline = System.nanoTime() + 20_000_000_000L;
            LlmEngine.Stats after = engine.stats();
            while ((after.freeBlocks() != after.totalBlocks() || after.running() + after.waiting() > 0
                    || fx.server.admitted() > 0) && System.nanoTime() < deadline) {
                Thread.sleep(20);
                after = engine.stats();
            }
            assertThat(after.freeBlocks()).as("no leaked KV blocks").isEqualTo(after.totalBlocks());
            assertThat(after.running()).isZero();
            assertThat(after.waiting()).isZero();
            assertThat(fx.server.admitted()).isZero();
            long generated = (long) (CLIENTS - LEAVERS) * TOKENS;
            // continuous batching: one engine step serves many clients (a server that ran requests one by one
            // would need a step per generated token and never run more than one sequence)
            assertThat(after.steps() - before.steps()).as("engine steps for %d generated tokens", generated)
                    .isLessThan(generated / 2);
            assertThat(maxRunning[0]).as("most sequences running at once").isGreaterThanOrEqualTo(8);

            String metrics = Http.get(fx.root() + "/metrics").body();
            long cancelled = metric(metrics, "stoker_serve_requests_finished_total{reason=\"cancelled\"}");
            long length = metric(metrics, "stoker_serve_requests_finished_total{reason=\"length\"}");
            // a leaver starved of CPU for long enough may see its 400 tokens finish before it hangs up
            assertThat(cancelled).as("hang-ups cancelled their generations").isBetween(1L, (long) LEAVERS);
            assertThat(cancelled + length).isEqualTo(CLIENTS);
            assertThat(metrics).contains("stoker_serve_kv_cache_usage_ratio 0.0")
                    .contains("stoker_serve_requests_admitted 0.0");
        }
    }

    private static long metric(String text, String name) {
        for (String line : text.split("\n")) {
            if (line.startsWith(name + " ")) {
                return (long) Double.parseDouble(line.substring(name.length() + 1).trim());
            }
        }
        return 0;
    }

    /** A raw-socket client: asks for 400 tokens, reads three events, hangs up (every other one with a reset). */
    private static int hangUpAfterThreeEvents(int port, int id, CountDownLatch go) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            go.await();
            byte[] b = body(id, 400).getBytes(StandardCharsets.UTF_8);
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(b);
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            int events = 0;
            for (String l; events < 3 && (l = in.readLine()) != null; ) {
                if (l.startsWith("data: ")) {
                    events++;
                }
            }
            if (id % 2 == 0) {
                s.setSoLinger(true, 0);
            }
            return events;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
