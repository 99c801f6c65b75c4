package io.stoker.spark.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP server on loopback that speaks enough of the OpenAI API for llmMap's HTTP backend tests (a test double
 * for a remote LLM service: no real one runs here). {@code /v1/chat/completions} and {@code /v1/completions} answer
 * with {@code echo:<last user content or prompt>}; the usage counts characters. A prompt containing
 * {@code FAIL400} gets 400; one containing {@code FLAKY} gets 503 on its first attempt. Every request body and
 * Authorization header is recorded.
 */
public final class FakeOpenAiServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    public final List<JsonNode> bodies = new CopyOnWriteArrayList<>();
    public final List<String> authorizations = new CopyOnWriteArrayList<>();
    final AtomicInteger requests = new AtomicInteger();
    private final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
    private final HttpServer server;

    public FakeOpenAiServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.createContext("/v1/chat/completions", ex -> answer(ex, true));
        server.createContext("/v1/completions", ex -> answer(ex, false));
        server.start();
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    private void answer(HttpExchange ex, boolean chat) throws IOException {
        requests.incrementAndGet();
        JsonNode body = JSON.readTree(ex.getRequestBody().readAllBytes());
        bodies.add(body);
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        authorizations.add(auth == null ? "" : auth);
        String prompt;
        if (chat) {
            JsonNode msgs = body.get("messages");
            prompt = msgs.get(msgs.size() - 1).get("content").asText();
        } else {
            prompt = body.get("prompt").asText();
        }
        if (prompt.contains("FAIL400")) {
            send(ex, 400, "{\"error\":{\"message\":\"the prompt is not allowed (FAIL400)\",\"type\":"
                    + "\"invalid_request_error\",\"param\":\"messages\",\"code\":null}}");
            return;
        }
        if (prompt.contains("FLAKY") && attempts.computeIfAbsent(prompt, p -> new AtomicInteger()).getAndIncrement()
                == 0) {
            send(ex, 503, "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}");
            return;
        }
        String text = "echo:" + prompt;
        ObjectNode r = JSON.createObjectNode();
        r.put("id", "cmpl-" + requests.get());
        r.put("object", chat ? "chat.completion" : "text_completion");
        r.put("model", body.path("model").asText());
        ArrayNode choices = r.putArray("choices");
        ObjectNode c = choices.addObject();
        c.put("index", 0);
        if (chat) {
            ObjectNode m = c.putObject("message");
            m.put("role", "assistant");
            m.put("content", text);
        } else {
            c.put("text", text);
        }
        c.put("finish_reason", "stop");
        ObjectNode u = r.putObject("usage");
        u.put("prompt_tokens", prompt.length());
        u.put("completion_tokens", text.length());
        u.put("total_tokens", prompt.length() + text.length());
        send(ex, 200, r.toString());
    }

    private static void send(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(b);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
