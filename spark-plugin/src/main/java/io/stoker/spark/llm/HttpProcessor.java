package io.stoker.spark.llm;

import io.stoker.llm.openai.OpenAiClient;
import io.stoker.llm.openai.OpenAiClientConfig;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.spark.executor.ExecutorRuntime;
import org.apache.spark.SparkEnv;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One executor's processor for an OpenAI-compatible server: one HTTP client shared by every task of the executor
 * (bounded concurrency, client-side rate limits, retries), and the same compiled-graph shape as the local engine:
 * <pre>
 *   RequestBatch (Arrow) ─▶ preparer actor: request bodies ─▶ sender actor: client.send (async)
 *   RowBatch (answered)  ─▶ assembler actor: results ─▶ Arrow batch
 * </pre>
 * The API key is read here, on the executor, from the environment variable or Spark configuration key the call
 * names; it never travels with the plan and never appears in a message.
 */
public final class HttpProcessor implements RowProcessor {
    private static final Logger LOG = LoggerFactory.getLogger(HttpProcessor.class);
    private static final AtomicLong IDS = new AtomicLong();

    private final String key;
    private final java.util.List<OpenAiClient> clients;
    private final io.stoker.spark.server.ManagedServers servers;
    private final ActorHandle<HttpRequestPreparer> preparer;
    private final ActorHandle<HttpSender> sender;
    private final ActorHandle<ResultAssembler> assembler;
    private final LaneGraphs graphs;
    private volatile boolean closed;

    private HttpProcessor(String key, java.util.List<OpenAiClient> clients,
                          io.stoker.spark.server.ManagedServers servers, ActorHandle<HttpRequestPreparer> preparer,
                          ActorHandle<HttpSender> sender, ActorHandle<ResultAssembler> assembler, LaneGraphs graphs) {
        this.key = key;
        this.clients = clients;
        this.servers = servers;
        this.preparer = preparer;
        this.sender = sender;
        this.assembler = assembler;
        this.graphs = graphs;
    }

    static HttpProcessor start(ExecutorRuntime host, LlmSpec spec, String key) {
        LlmSpec.Http h = spec.http();
        io.stoker.spark.server.ManagedServers servers = h.server() == null ? null
                : io.stoker.spark.server.ManagedServers.forName(host, h.server());
        java.util.List<String> urls = new java.util.ArrayList<>();
        if (servers == null) {
            urls.add(h.baseUrl());
        } else {
            servers.servers().forEach(s -> urls.add(s.baseUrl()));
        }
        String model = !spec.model().isBlank() ? spec.model() : servers.spec().model();
        String apiKey = apiKey(h);
        java.util.List<OpenAiClient> clients = new java.util.ArrayList<>();
        for (String url : urls) {
            OpenAiClientConfig.Builder b = OpenAiClientConfig.builder(url)
                    .maxConcurrentRequests(Math.max(1, h.maxConcurrentRequests() / urls.size()))
                    .requestsPerSecond(h.requestsPerSecond() / urls.size())
                    .tokensPerMinute(h.tokensPerMinute() / urls.size()).maxRetries(h.maxRetries())
                    .initialBackoff(Duration.ofMillis(h.initialBackoffMillis()))
                    .requestTimeout(Duration.ofMillis(h.requestTimeoutMillis()));
            if (apiKey != null) {
                b.apiKey(apiKey);
            }
            clients.add(OpenAiClient.create(b.build()));
        }
        StokerRuntime rt = host.runtime();
        String name = "llm-http" + IDS.incrementAndGet();
        try {
            ActorHandle<HttpRequestPreparer> preparer = rt.createActor(ActorSpec.of(name + "-prepare",
                    ctx -> new HttpRequestPreparer(model)));
            ActorHandle<HttpSender> sender = rt.createActor(ActorSpec.of(name + "-send",
                    ctx -> new HttpSender(clients)));
            ActorHandle<ResultAssembler> assembler = rt.createActor(ActorSpec.of(name + "-assemble",
                    ctx -> new ResultAssembler(host.allocator().newChildAllocator(name + "-output", 0,
                            Long.MAX_VALUE))));
            LaneGraphs graphs = LaneGraphs.compile(rt, name, preparer, HttpRequestPreparer::prepare, sender,
                    HttpSender::enqueue, assembler);
            LOG.info("LLM HTTP processor on executor {}: {} (model {}, {} concurrent requests)", host.executorId(),
                    clients.get(0).config(), model, h.maxConcurrentRequests());
            return new HttpProcessor(key, clients, servers, preparer, sender, assembler, graphs);
        } catch (RuntimeException | Error e) {
            clients.forEach(OpenAiClient::close);
            throw e;
        }
    }

    /** Reads the key on the executor; the message of a missing key names where it was looked for, never a value. */
    private static String apiKey(LlmSpec.Http h) {
        if (h.apiKeyEnv() != null) {
            String v = System.getenv(h.apiKeyEnv());
            if (v == null || v.isEmpty()) {
                throw new LlmConfigException("LLM option 'api_key_env' names environment variable " + h.apiKeyEnv()
                        + ", which is not set on executor " + executorId() + "; set it for the executors (e.g."
                        + " spark.executorEnv." + h.apiKeyEnv() + ", whose value Spark shows unless the name matches"
                        + " spark.redaction.regex)");
            }
            return v;
        }
        if (h.apiKeyConf() != null) {
            SparkEnv env = SparkEnv.get();
            String v = env == null ? null : env.conf().get(h.apiKeyConf(), null);
            if (v == null || v.isEmpty()) {
                throw new LlmConfigException("LLM option 'api_key_conf' names Spark configuration key "
                        + h.apiKeyConf() + ", which is not set on executor " + executorId());
            }
            return v;
        }
        return null;
    }

    private static String executorId() {
        SparkEnv env = SparkEnv.get();
        return env == null ? "?" : env.executorId();
    }

    @Override
    public Pending submit(RequestBatch batch) {
        return graphs.submit(batch);
    }

    @Override
    public long running() {
        long n = 0;
        for (OpenAiClient c : clients) {
            OpenAiClient.Stats s = c.stats();
            n += s.inFlight() + s.queued();
        }
        return n;
    }

    @Override
    public boolean isHealthy() {
        return !closed && preparer.isAlive() && sender.isAlive() && assembler.isAlive()
                && (servers == null || servers.isUsable());
    }

    @Override
    public String key() {
        return key;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        graphs.close();
        preparer.close();
        sender.close();
        assembler.close();
        clients.forEach(OpenAiClient::close);
    }
}
