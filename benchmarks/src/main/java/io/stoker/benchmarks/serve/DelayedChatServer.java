package io.stoker.benchmarks.serve;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A loopback OpenAI-compatible {@code /v1/chat/completions} that answers every request with a fixed completion after
 * a fixed delay: the peer of the client benchmarks, so that rows/s can be held to the ideal N / delay.
 */
final class DelayedChatServer implements AutoCloseable {
    private static final byte[] ANSWER = ("{\"id\":\"x\",\"object\":\"chat.completion\",\"model\":\"m\",\"choices\":"
            + "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\","
            + "\"logprobs\":null}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}")
            .getBytes(StandardCharsets.UTF_8);

    private final HttpServer server;
    private final ExecutorService handlers;

    /** Starts it on an ephemeral loopback port with one handler thread per request in flight (plus spares). */
    DelayedChatServer(int inFlight, int delayMs) throws IOException {
        // The JDK server writes headers and body separately; without TCP_NODELAY, Nagle plus the peer's delayed ACK
        // adds ~40 ms to every answer (measured: 35% of N/delay at N=8 instead of 89%).
        System.setProperty("sun.net.httpserver.nodelay", "true");
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1024);
        handlers = Executors.newFixedThreadPool(inFlight + 8);
        server.createContext("/v1/chat/completions", ex -> {
            ex.getRequestBody().readAllBytes();
            try {
                Thread.sleep(delayMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, ANSWER.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(ANSWER);
            }
        });
        server.setExecutor(handlers);
        server.start();
    }

    /** @return the base URL, {@code http://127.0.0.1:PORT/v1} */
    String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    @Override
    public void close() {
        server.stop(0);
        handlers.shutdownNow();
    }
}
