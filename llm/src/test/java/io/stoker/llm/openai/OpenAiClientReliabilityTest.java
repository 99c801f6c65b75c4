package io.stoker.llm.openai;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The retry policy against a fault-injecting loopback server: 429 with Retry-After, 500, 503, stalls past the
 * timeout, TCP resets and a restart mid-run. Every request is answered or errored as the policy says, and the
 * server's own count shows none lost or answered twice.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class OpenAiClientReliabilityTest {

    private static FaultInjectingServer.Action mixed(String key, int attempt) {
        int i = Integer.parseInt(key.substring(key.indexOf('-') + 1));
        switch (i % 6) {
            case 0:
                return attempt == 1 ? FaultInjectingServer.Action.status(429, "slow down",
                        Map.of("retry-after-ms", "100")) : FaultInjectingServer.Action.okAfter(5);
            case 1:
                return attempt == 1 ? FaultInjectingServer.Action.status(500, "boom", Map.of())
                        : attempt == 2 ? FaultInjectingServer.Action.status(503, "busy", Map.of())
                        : FaultInjectingServer.Action.okAfter(5);
            case 2:
                return attempt == 1 ? FaultInjectingServer.Action.stall(3_000) : FaultInjectingServer.Action.okAfter(5);
            case 3:
                return attempt <= 2 ? FaultInjectingServer.Action.reset() : FaultInjectingServer.Action.okAfter(5);
            case 4:
                return FaultInjectingServer.Action.status(503, "always busy", Map.of());
            default:
                return FaultInjectingServer.Action.status(400, "bad field 'temperature'", Map.of());
        }
    }

    @Test
    void shouldAnswerOrErrorEveryRequestExactlyOnceThroughFaultsAndARestart() throws Exception {
        int n = 60;
        int maxRetries = 8;
        // Generous timeouts keep a slow (shared, loaded) machine from timing out an attempt the server did answer,
        // which at-least-once HTTP would legitimately see answered twice.
        try (FaultInjectingServer server = new FaultInjectingServer(OpenAiClientReliabilityTest::mixed);
             OpenAiClient client = OpenAiClient.create(OpenAiClientConfig.builder(server.baseUrl())
                     .maxConcurrentRequests(8).maxRetries(maxRetries).initialBackoff(Duration.ofMillis(20))
                     .maxBackoff(Duration.ofMillis(400)).requestTimeout(Duration.ofMillis(1_500)).build())) {
            List<CompletableFuture<OpenAiResult>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                futures.add(client.send(OpenAiRequest.completion("m", "req-" + i).maxTokens(4).build()));
            }
            // restart mid-run: once a third of the requests are done, with others in flight and queued
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (futures.stream().filter(CompletableFuture::isDone).count() < n / 3 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(client.stats().queued()).as("requests still queued at the restart").isGreaterThan(0);
            server.restart(150);
            CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0])).get(80, TimeUnit.SECONDS);
            server.awaitIdle();

            int ok = 0;
            for (int i = 0; i < n; i++) {
                String key = "req-" + i;
                OpenAiResult r = futures.get(i).get();
                List<FaultInjectingServer.Attempt> seen = server.attempts().get(key);
                assertThat(seen).as("%s reached the server", key).isNotEmpty();
                assertThat(r.attempts()).as("%s: the client counts at least what the server saw", key)
                        .isGreaterThanOrEqualTo(seen.size()).isLessThanOrEqualTo(maxRetries + 1);
                switch (i % 6) {
                    case 4:
                        assertThat(r.failure()).as(key).isEqualTo(OpenAiResult.Failure.RETRIES_EXHAUSTED);
                        assertThat(r.status()).isEqualTo(503);
                        assertThat(r.attempts()).isEqualTo(maxRetries + 1);
                        assertThat(r.error()).contains("gave up after 9 attempts").contains("always busy");
                        assertThat(server.okCount(key)).isZero();
                        break;
                    case 5:
                        assertThat(r.failure()).as(key).isEqualTo(OpenAiResult.Failure.HTTP_STATUS);
                        assertThat(r.status()).isEqualTo(400);
                        assertThat(r.error()).contains("bad field 'temperature'");
                        assertThat(server.okCount(key)).isZero();
                        break;
                    default:
                        assertThat(r.ok()).as("%s: %s; server saw %s", key, r.error(), seen).isTrue();
                        assertThat(r.text()).isEqualTo("echo:" + key);
                        assertThat(server.okCount(key)).as("%s answered exactly once", key).isEqualTo(1);
                        assertThat(seen.get(seen.size() - 1).outcome()).isEqualTo("200");
                        ok++;
                }
            }
            assertThat(ok).isEqualTo(n / 6 * 4);
            long lostToRestart = 0;
            for (int i = 0; i < n; i++) {
                List<FaultInjectingServer.Attempt> seen = server.attempts().get("req-" + i);
                lostToRestart += futures.get(i).get().attempts() - seen.size()
                        + seen.stream().filter(a -> a.outcome().equals("killed")).count();
            }
            assertThat(lostToRestart).as("the restart refused or dropped some attempts").isGreaterThan(0);
            assertThat(server.log()).extracting(FaultInjectingServer.Attempt::outcome)
                    .as("every kind of fault happened").contains("429", "500", "503", "stalled", "reset");
            OpenAiClient.Stats st = client.stats();
            assertThat(st.requests()).isEqualTo(n);
            assertThat(st.inFlight()).isZero();
            assertThat(st.queued()).isZero();
        }
    }

    @Test
    void shouldWaitRetryAfterSecondsButNoLongerThanTheCap() throws Exception {
        try (FaultInjectingServer server = new FaultInjectingServer((k, n) -> n > 1 ? FaultInjectingServer.Action.ok()
                : FaultInjectingServer.Action.status(429, "later", Map.of("Retry-After", k.equals("short") ? "1"
                : "3600")));
             OpenAiClient client = OpenAiClient.create(OpenAiClientConfig.builder(server.baseUrl())
                     .initialBackoff(Duration.ofMillis(10)).maxRetryAfter(Duration.ofMillis(1500)).build())) {
            CompletableFuture<OpenAiResult> a = client.send(OpenAiRequest.completion("m", "short").build());
            CompletableFuture<OpenAiResult> b = client.send(OpenAiRequest.completion("m", "capped").build());
            assertThat(a.get(30, TimeUnit.SECONDS).ok()).isTrue();
            assertThat(b.get(30, TimeUnit.SECONDS).ok()).isTrue();
            assertThat(gapMillis(server, "short")).as("Retry-After: 1 honoured").isBetween(1000L, 1400L);
            assertThat(gapMillis(server, "capped")).as("Retry-After: 3600 capped at 1.5 s").isBetween(1500L, 2000L);
        }
    }

    private static long gapMillis(FaultInjectingServer server, String key) {
        List<FaultInjectingServer.Attempt> a = server.attempts().get(key);
        return (a.get(1).arrivedNanos() - a.get(0).arrivedNanos()) / 1_000_000;
    }

    @Test
    void shouldKeepAtMostMaxConcurrentRequestsInFlight() throws Exception {
        try (FaultInjectingServer server = new FaultInjectingServer((k, n) -> FaultInjectingServer.Action.okAfter(100));
             OpenAiClient client = OpenAiClient.create(OpenAiClientConfig.builder(server.baseUrl())
                     .maxConcurrentRequests(4).build())) {
            List<CompletableFuture<OpenAiResult>> fs = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                fs.add(client.send(OpenAiRequest.completion("m", "c-" + i).build()));
            }
            assertThat(client.stats().queued()).isGreaterThan(0);
            CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0])).get(30, TimeUnit.SECONDS);
            assertThat(fs).allMatch(f -> f.join().ok());
            assertThat(server.maxConcurrent()).isEqualTo(4);
        }
    }

    @Test
    void shouldSpaceRequestsToTheRequestsPerSecondLimit() throws Exception {
        try (FaultInjectingServer server = new FaultInjectingServer((k, n) -> FaultInjectingServer.Action.ok());
             OpenAiClient client = OpenAiClient.create(OpenAiClientConfig.builder(server.baseUrl())
                     .requestsPerSecond(10).build())) {
            List<CompletableFuture<OpenAiResult>> fs = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                fs.add(client.send(OpenAiRequest.completion("m", "r-" + i).build()));
            }
            CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0])).get(30, TimeUnit.SECONDS);
            long first = server.attempts().get("r-0").get(0).arrivedNanos();
            long last = server.attempts().get("r-19").get(0).arrivedNanos();
            // a burst of 10, then 10 more at 10/s: the last one leaves 1 s after the client started, so it arrives
            // ~1 s after the first (less that one's own latency)
            assertThat((last - first) / 1_000_000).isGreaterThanOrEqualTo(800L);
        }
    }

    @Test
    void shouldChargeTheTokensPerMinuteLimitWithTheUsageTheServerReports() throws Exception {
        // 600 tokens/min = 10/s. "big" is estimated at ~6 tokens but the server reports 600, which empties the
        // bucket: the next request (~6 tokens) must wait ~0.6 s for the refill.
        try (FaultInjectingServer server = new FaultInjectingServer((k, n) -> k.equals("big")
                ? FaultInjectingServer.Action.okWithUsage(600) : FaultInjectingServer.Action.ok());
             OpenAiClient client = OpenAiClient.create(OpenAiClientConfig.builder(server.baseUrl())
                     .tokensPerMinute(600).build())) {
            OpenAiResult big = client.send(OpenAiRequest.completion("m", "big").maxTokens(5).build())
                    .get(30, TimeUnit.SECONDS);
            assertThat(big.usage().totalTokens()).isEqualTo(600);
            long sent = System.nanoTime();
            assertThat(client.send(OpenAiRequest.completion("m", "next").maxTokens(5).build())
                    .get(30, TimeUnit.SECONDS).ok()).isTrue();
            long waited = (server.attempts().get("next").get(0).arrivedNanos() - sent) / 1_000_000;
            assertThat(waited).isGreaterThanOrEqualTo(450L);
        }
    }

    @Test
    void shouldFailQueuedAndInFlightRequestsAsCancelledOnClose() throws Exception {
        FaultInjectingServer server = new FaultInjectingServer((k, n) -> FaultInjectingServer.Action.okAfter(2_000));
        OpenAiClient client = OpenAiClient.create(OpenAiClientConfig.builder(server.baseUrl())
                .maxConcurrentRequests(1).build());
        try (server) {
            CompletableFuture<OpenAiResult> a = client.send(OpenAiRequest.completion("m", "a").build());
            CompletableFuture<OpenAiResult> b = client.send(OpenAiRequest.completion("m", "b").build());
            Thread.sleep(200);
            client.close();
            assertThat(a.get(10, TimeUnit.SECONDS).failure()).isEqualTo(OpenAiResult.Failure.CANCELLED);
            assertThat(b.get(10, TimeUnit.SECONDS).failure()).isEqualTo(OpenAiResult.Failure.CANCELLED);
            assertThat(b.get().attempts()).as("b never left the queue").isZero();
            assertThat(client.send(OpenAiRequest.completion("m", "c").build()).get(10, TimeUnit.SECONDS).error())
                    .contains("closed");
        }
    }
}
