package io.stoker.spark.server;

import io.stoker.spark.executor.ExecutorRuntime;
import org.apache.spark.SparkFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The server processes of one {@link ServerSpec} on one executor: one per group of {@code gpus} GPUs of the
 * executor (all its GPUs in one group when {@code gpus} is 0; one process without GPUs), started together at the
 * first task that needs them and stopped with the executor.
 */
public final class ManagedServers implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ManagedServers.class);

    private final ServerSpec spec;
    private final List<ManagedServer> servers;

    private ManagedServers(ServerSpec spec, List<ManagedServer> servers) {
        this.spec = spec;
        this.servers = List.copyOf(servers);
    }

    /** @return the executor's running servers of {@code name}, started at the first request */
    public static ManagedServers forName(ExecutorRuntime host, String name) {
        ServerSpec spec = host.conf().servers().get(name);
        if (spec == null) {
            throw new IllegalArgumentException("no managed server '" + name + "' is configured"
                    + " (spark.stoker.server." + name + ".command); configured: " + host.conf().servers().keySet());
        }
        return host.service("server:" + name, () -> start(host, spec), ManagedServers::isUsable);
    }

    static ManagedServers start(ExecutorRuntime host, ServerSpec spec) {
        List<List<String>> groups = groups(host.gpuAddresses(), spec.gpusPerServer(), spec.name());
        Path logs = Path.of(SparkFiles.getRootDirectory(), "stoker-servers");
        List<CompletableFuture<ManagedServer>> starting = new ArrayList<>();
        // One thread per server: each start waits for /health for up to its timeout, which must neither queue behind
        // the others nor hold the JVM's common pool.
        java.util.concurrent.ExecutorService starters = java.util.concurrent.Executors.newFixedThreadPool(
                groups.size(), r -> {
                    Thread t = new Thread(r, "stoker-server-start-" + spec.name());
                    t.setDaemon(true);
                    return t;
                });
        for (int i = 0; i < groups.size(); i++) {
            int index = i;
            starting.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return ManagedServer.start(spec, index, groups.get(index), logs);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot start managed server '" + spec.name() + "': " + e, e);
                }
            }, starters));
        }
        starters.shutdown(); // the threads end once their start returns
        List<ManagedServer> up = new ArrayList<>();
        RuntimeException failure = null;
        for (CompletableFuture<ManagedServer> f : starting) {
            try {
                up.add(f.join());
            } catch (java.util.concurrent.CompletionException e) {
                failure = e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            }
        }
        if (failure != null) {
            up.forEach(ManagedServer::close);
            throw failure;
        }
        LOG.info("managed server '{}' on executor {}: {} process(es) on GPU groups {}", spec.name(),
                host.executorId(), up.size(), groups);
        return new ManagedServers(spec, up);
    }

    /** Splits the executor's GPUs into groups of {@code perServer} (0 = one group of all; none = one empty group). */
    static List<List<String>> groups(List<String> gpus, int perServer, String name) {
        if (gpus.isEmpty() || perServer == 0) {
            return List.of(List.copyOf(gpus));
        }
        if (gpus.size() % perServer != 0) {
            throw new IllegalArgumentException("managed server '" + name + "' wants " + perServer + " GPU(s) per"
                    + " process but the executor has " + gpus.size() + " " + gpus + "; make"
                    + " spark.executor.resource.gpu.amount a multiple of spark.stoker.server." + name + ".gpus");
        }
        List<List<String>> out = new ArrayList<>();
        for (int i = 0; i < gpus.size(); i += perServer) {
            out.add(List.copyOf(gpus.subList(i, i + perServer)));
        }
        return out;
    }

    public ServerSpec spec() {
        return spec;
    }

    public List<ManagedServer> servers() {
        return servers;
    }

    /** @return false once a server was given up (it kept dying): the executor then starts the set again */
    public boolean isUsable() {
        return servers.stream().allMatch(ManagedServer::isUsable);
    }

    @Override
    public void close() {
        servers.forEach(ManagedServer::close);
    }
}
