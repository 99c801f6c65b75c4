package io.stoker.spark.server;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One server process of a {@link ServerSpec}: started under a small guard shell that puts it in its own process
 * group and kills that group when the executor JVM goes away (even by SIGKILL) or when Stoker stops it, so no
 * process outlives the executor. When the server exits unexpectedly it is started again on the same loopback port,
 * with exponential backoff, up to {@code maxRestarts} times; requests meanwhile fail to connect and the HTTP client
 * retries them.
 *
 * <p>Thread-safety: all methods may be called from any thread.
 */
public final class ManagedServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ManagedServer.class);
    /** Ports tried when a server's port is taken before it binds it. */
    private static final int PORT_ATTEMPTS = 3;
    /** The guard: runs the command in a new session, stops its process group with the parent or on TERM. */
    private static final String GUARD = String.join("\n",
            "parent=$1; shift",
            "setsid \"$@\" &",
            "child=$!",
            "stop() { kill -TERM -- -$child 2>/dev/null; for i in $(seq 100); do kill -0 $child 2>/dev/null || exit 143;"
                    + " sleep 0.1; done; kill -KILL -- -$child 2>/dev/null; exit 143; }",
            "trap stop TERM INT HUP",
            "while kill -0 $parent 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.5 & wait $!; done",
            "kill -0 $child 2>/dev/null && stop",
            "wait $child; exit $?");

    private final ServerSpec spec;
    private final int index;
    private final List<String> gpuIds;
    private final int port;
    private final Path log;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private volatile Process process;
    private volatile boolean closing;
    private volatile boolean givenUp;
    private volatile int restarts;
    /** Where this launch's output starts in the log. */
    private volatile long launchedAtByte;
    /** The process whose exit was last handled, so the exit hook and start() never both restart one exit. */
    private Process handledExit;
    /** Set once the first start was healthy: from then on unexpected exits are restarted. */
    private volatile boolean started;

    private ManagedServer(ServerSpec spec, int index, List<String> gpuIds, int port, Path log) {
        this.spec = spec;
        this.index = index;
        this.gpuIds = List.copyOf(gpuIds);
        this.port = port;
        this.log = log;
    }

    /**
     * Starts the process and waits until its health check answers.
     *
     * @param logDir where the server's output goes ({@code <name>-<index>.log})
     */
    static ManagedServer start(ServerSpec spec, int index, List<String> gpuIds, Path logDir) throws IOException {
        Files.createDirectories(logDir);
        Path log = logDir.resolve(spec.name() + "-" + index + ".log");
        for (int attempt = 1; ; attempt++) {
            ManagedServer s = new ManagedServer(spec, index, gpuIds, freePort(), log);
            try {
                s.launch();
                s.awaitHealthy();
                s.started = true;
                Process p = s.process;
                if (!p.isAlive()) {
                    s.exited(p); // it died between its health check and now: restart it like any later exit
                }
                return s;
            } catch (IOException | RuntimeException e) {
                s.close(); // a failed start leaves no process behind and schedules no restart
                if (attempt < PORT_ATTEMPTS && s.lostItsPort()) {
                    LOG.warn("managed server '{}' #{}: port {} was taken before the server could bind it; retrying on"
                            + " another port ({} of {})", spec.name(), index, s.port, attempt + 1, PORT_ATTEMPTS);
                    continue;
                }
                throw e;
            }
        }
    }

    /**
     * @return true when the process exited saying its port was in use: the free port picked for it was taken by
     * another process between the pick and the server's bind (the pick cannot hold the port for a child process)
     */
    private boolean lostItsPort() {
        Process p = process;
        if (p == null || p.isAlive()) {
            return false;
        }
        String t = outputSince(launchedAtByte).toLowerCase(java.util.Locale.ROOT); // this launch's output only
        return t.contains("address already in use") || t.contains("eaddrinuse") || t.contains("errno 98");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private synchronized void launch() throws IOException {
        launchedAtByte = Files.exists(log) ? Files.size(log) : 0; // the log is appended to across launches
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", GUARD, "stoker-server-guard",
                Long.toString(ProcessHandle.current().pid())));
        cmd.addAll(spec.command(port, gpuIds));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Map<String, String> env = pb.environment();
        env.putAll(spec.env());
        env.put("CUDA_VISIBLE_DEVICES", String.join(",", gpuIds));
        Process p = pb.start();
        process = p;
        LOG.info("managed server '{}' #{} starting on port {} with CUDA_VISIBLE_DEVICES={} (guard pid {}): {}",
                spec.name(), index, port, String.join(",", gpuIds), p.pid(), String.join(" ", spec.command(port,
                        gpuIds)));
        p.onExit().thenRun(() -> exited(p));
    }

    private void awaitHealthy() {
        long deadline = System.nanoTime() + Duration.ofMillis(spec.startTimeoutMs()).toNanos();
        URI health = URI.create("http://127.0.0.1:" + port + spec.healthPath());
        while (true) {
            Process p = process;
            if (closing) {
                throw new IllegalStateException("managed server '" + spec.name() + "' was stopped while starting");
            }
            if (!p.isAlive()) {
                throw new IllegalStateException("managed server '" + spec.name() + "' #" + index + " exited with code "
                        + p.exitValue() + " before it was healthy; its output (" + log + ") ends with:\n" + tail());
            }
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() / 100 == 2) {
                    LOG.info("managed server '{}' #{} is healthy on port {}", spec.name(), index, port);
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while starting managed server '" + spec.name() + "'");
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("managed server '" + spec.name() + "' #" + index + " did not answer "
                        + health + " within " + spec.startTimeoutMs() + " ms (spark.stoker.server." + spec.name()
                        + ".startTimeoutMs); its output (" + log + ") ends with:\n" + tail());
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while starting managed server '" + spec.name() + "'");
            }
        }
    }

    /** Restarts after an unexpected exit, with backoff; gives up after maxRestarts. */
    private synchronized void exited(Process p) {
        if (closing || !started || p != process || p == handledExit) {
            return; // during the first start, start() itself sees the exit and decides
        }
        handledExit = p;
        int n = ++restarts;
        if (n > spec.maxRestarts()) {
            givenUp = true;
            LOG.error("managed server '{}' #{} exited with code {} and was restarted {} times already"
                    + " (spark.stoker.server.{}.maxRestarts); giving up", spec.name(), index, p.exitValue(),
                    n - 1, spec.name());
            return;
        }
        long backoff = Math.min(30_000, 250L << Math.min(n - 1, 7));
        LOG.warn("managed server '{}' #{} exited with code {}; restart {} of {} in {} ms", spec.name(), index,
                p.exitValue(), n, spec.maxRestarts(), backoff);
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(backoff);
                if (!closing) {
                    launch();
                    awaitHealthy();
                }
            } catch (Exception e) {
                LOG.error("managed server '{}' #{} failed to restart: {}", spec.name(), index, e.getMessage());
                if (!closing && process != null && !process.isAlive()) {
                    exited(process);
                }
            }
        }, "stoker-server-restart-" + spec.name() + "-" + index);
        t.setDaemon(true);
        t.start();
    }

    /** @return what the log holds from byte {@code from} on (the current launch's output) */
    private String outputSince(long from) {
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(log.toFile(), "r")) {
            long n = Math.max(0, f.length() - from);
            byte[] b = new byte[(int) Math.min(n, 64 * 1024)];
            f.seek(f.length() - b.length);
            f.readFully(b);
            return new String(b, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private String tail() {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    /** @return the OpenAI-compatible base URL on loopback */
    public String baseUrl() {
        return "http://127.0.0.1:" + port + "/v1";
    }

    public List<String> gpuIds() {
        return gpuIds;
    }

    /** @return the pid of the server process (the guard's child), or -1 while it is not running */
    public long serverPid() {
        Process p = process;
        return p == null ? -1 : p.toHandle().children().findFirst().map(ProcessHandle::pid).orElse(-1L);
    }

    public int restarts() {
        return restarts;
    }

    /** @return false once the server exited more often than maxRestarts allows */
    public boolean isUsable() {
        return !givenUp && !closing;
    }

    /** Stops the server's whole process group (TERM, then KILL after 10 s). Idempotent. */
    @Override
    public void close() {
        closing = true;
        Process p = process;
        if (p == null) {
            return;
        }
        List<ProcessHandle> all = new ArrayList<>();
        p.toHandle().descendants().forEach(all::add);
        p.destroy();
        try {
            if (!p.waitFor(15, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (ProcessHandle h : all) {
            if (h.isAlive()) {
                h.destroyForcibly();
            }
        }
        LOG.info("managed server '{}' #{} stopped", spec.name(), index);
    }
}
