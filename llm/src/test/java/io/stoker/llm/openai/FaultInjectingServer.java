package io.stoker.llm.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;

/**
 * A small HTTP/1.1 server on loopback raw sockets (keep-alive, Content-Length bodies) that answers OpenAI-format
 * completions and injects faults by script: statuses with {@code Retry-After}, stalls past the client's timeout,
 * TCP resets, and a restart. It records every attempt per request key (the first message's content or the prompt)
 * so a test can count what the server saw. A real server: the JDK's HttpServer cannot send a TCP reset.
 */
final class FaultInjectingServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What to do with one attempt. */
    record Action(int status, Map<String, String> headers, String errorMessage, Kind kind, long delayMs,
                  long usageTokens) {
        static Action ok() {
            return new Action(200, Map.of(), null, Kind.RESPOND, 0, -1);
        }

        static Action okAfter(long delayMs) {
            return new Action(200, Map.of(), null, Kind.RESPOND, delayMs, -1);
        }

        static Action okWithUsage(long totalTokens) {
            return new Action(200, Map.of(), null, Kind.RESPOND, 0, totalTokens);
        }

        static Action status(int status, String message, Map<String, String> headers) {
            return new Action(status, headers, message, Kind.RESPOND, 0, -1);
        }

        static Action stall(long ms) {
            return new Action(0, Map.of(), null, Kind.STALL, ms, -1);
        }

        static Action reset() {
            return new Action(0, Map.of(), null, Kind.RESET, 0, -1);
        }
    }

    enum Kind { RESPOND, STALL, RESET }

    /** One attempt as the server saw it. */
    record Attempt(String key, int number, String outcome, long arrivedNanos, String authorization, String path) {
    }

    private final BiFunction<String, Integer, Action> script;
    private final Map<String, List<Attempt>> attempts = new ConcurrentHashMap<>();
    private final List<Attempt> log = new CopyOnWriteArrayList<>();
    private final Map<String, JsonNode> bodies = new ConcurrentHashMap<>();
    private final Set<Conn> conns = ConcurrentHashMap.newKeySet();
    private final AtomicInteger concurrent = new AtomicInteger();
    private final AtomicInteger maxConcurrent = new AtomicInteger();
    private volatile ServerSocket listener;
    private volatile int port;

    FaultInjectingServer(BiFunction<String, Integer, Action> script) throws IOException {
        this.script = script;
        bind(0);
    }

    int port() {
        return port;
    }

    String baseUrl() {
        return "http://127.0.0.1:" + port + "/v1";
    }

    private void bind(int p) throws IOException {
        ServerSocket ss = new ServerSocket();
        ss.setReuseAddress(true);
        ss.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), p), 256);
        listener = ss;
        port = ss.getLocalPort();
        Thread t = new Thread(() -> acceptLoop(ss), "fault-server-accept");
        t.setDaemon(true);
        t.start();
    }

    private void acceptLoop(ServerSocket ss) {
        while (!ss.isClosed()) {
            try {
                Socket s = ss.accept();
                Conn c = new Conn(s);
                conns.add(c);
                Thread t = new Thread(() -> serve(c), "fault-server-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    /**
     * Stops listening and closes every connection (a request being processed is dropped unanswered), stays down for
     * {@code downMs}, then listens on the same port again.
     */
    void restart(long downMs) throws IOException, InterruptedException {
        listener.close();
        for (Conn c : conns) {
            c.kill();
        }
        Thread.sleep(downMs);
        bind(port);
    }

    Map<String, List<Attempt>> attempts() {
        return attempts;
    }

    /** @return the last request body seen for this key */
    JsonNode body(String key) {
        return bodies.get(key);
    }

    List<Attempt> log() {
        return log;
    }

    /** @return how many attempts for this key were answered 200 */
    long okCount(String key) {
        return attempts.getOrDefault(key, List.of()).stream().filter(a -> a.outcome().equals("200")).count();
    }

    /** Waits until no attempt is being processed (stalled ones included). */
    void awaitIdle() throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        while (concurrent.get() > 0 && System.nanoTime() < end) {
            Thread.sleep(20);
        }
    }

    int maxConcurrent() {
        return maxConcurrent.get();
    }

    private void serve(Conn c) {
        try (Socket s = c.socket) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            while (true) {
                Map<String, String> headers = new HashMap<>();
                String requestLine = readHead(in, headers);
                if (requestLine == null) {
                    return;
                }
                int len = Integer.parseInt(headers.getOrDefault("content-length", "0"));
                byte[] body = in.readNBytes(len);
                String path = requestLine.split(" ")[1];
                JsonNode req = JSON.readTree(body);
                boolean chat = path.replaceFirst("\\?.*", "").endsWith("/chat/completions");
                String key = chat ? req.path("messages").path(0).path("content").asText() : req.path("prompt").asText();
                long arrived = System.nanoTime();
                List<Attempt> mine = attempts.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>());
                int number;
                synchronized (mine) {
                    number = mine.size() + 1;
                    // reserve the slot; replaced below with the outcome
                    mine.add(new Attempt(key, number, "in-progress", System.nanoTime(), null, path));
                }
                Action a = script.apply(key, number);
                int now = concurrent.incrementAndGet();
                maxConcurrent.accumulateAndGet(now, Math::max);
                bodies.put(key, req);
                String outcome = "io-error";
                try {
                    outcome = act(c, a, path, req, key, out);
                } finally {
                    concurrent.decrementAndGet();
                    Attempt at = new Attempt(key, number, outcome, arrived, headers.get("authorization"), path);
                    mine.set(number - 1, at);
                    log.add(at);
                }
                if (!outcome.matches("\\d+")) {
                    return;
                }
            }
        } catch (IOException e) {
            // the client went away, or the server was killed
        } finally {
            conns.remove(c);
        }
    }

    private String act(Conn c, Action a, String path, JsonNode req, String key, OutputStream out) throws IOException {
        switch (a.kind()) {
            case RESET:
                c.socket.setSoLinger(true, 0);
                c.socket.close();
                return "reset";
            case STALL:
                sleep(a.delayMs());
                c.socket.close();
                return "stalled";
            default:
                break;
        }
        if (a.delayMs() > 0) {
            sleep(a.delayMs());
        }
        byte[] payload;
        if (a.status() == 200) {
            payload = JSON.writeValueAsBytes(completion(path, req, key, a.usageTokens()));
        } else {
            ObjectNode err = JSON.createObjectNode();
            err.putObject("error").put("message", a.errorMessage()).put("type", "server_error");
            payload = JSON.writeValueAsBytes(err);
        }
        StringBuilder head = new StringBuilder("HTTP/1.1 " + a.status() + " X\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + payload.length + "\r\n");
        a.headers().forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
        head.append("\r\n");
        synchronized (c) {
            if (c.killed) {
                return "killed";
            }
            out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.write(payload);
            out.flush();
        }
        return Integer.toString(a.status());
    }

    private static ObjectNode completion(String path, JsonNode req, String key, long usageTokens) {
        ObjectNode r = JSON.createObjectNode();
        boolean chat = path.replaceFirst("\\?.*", "").endsWith("/chat/completions");
        r.put("id", "test-" + key);
        r.put("object", chat ? "chat.completion" : "text_completion");
        r.put("model", req.path("model").asText());
        ObjectNode choice = r.putArray("choices").addObject();
        choice.put("index", 0);
        if (chat) {
            choice.putObject("message").put("role", "assistant").put("content", "echo:" + key);
        } else {
            choice.put("text", "echo:" + key);
        }
        choice.put("finish_reason", "stop");
        choice.putNull("logprobs");
        long total = usageTokens >= 0 ? usageTokens : 3;
        r.putObject("usage").put("prompt_tokens", 1).put("completion_tokens", total - 1).put("total_tokens", total);
        return r;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** @return the request line, headers into the map (lower-case names), or null at end of stream */
    private static String readHead(InputStream in, Map<String, String> headers) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int b = in.read();
            if (b < 0) {
                return null;
            }
            buf.write(b);
            state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3))
                    ? state + 1 : (b == '\r' ? 1 : 0);
        }
        String[] lines = buf.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
                        lines[i].substring(colon + 1).trim());
            }
        }
        return lines[0];
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Conn c : new ArrayList<>(conns)) {
            c.kill();
        }
    }

    private static final class Conn {
        final Socket socket;
        boolean killed;

        Conn(Socket socket) {
            this.socket = socket;
        }

        synchronized void kill() {
            killed = true;
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
