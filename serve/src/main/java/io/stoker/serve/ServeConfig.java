package io.stoker.serve;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Settings of the OpenAI-compatible server. Immutable; validated on construction with errors naming the option.
 *
 * @param host            address to bind; a non-loopback address requires {@code apiKey}
 * @param port            TCP port (0 = any free port)
 * @param servedModelName the model id clients send as {@code model} and {@code /v1/models} lists
 * @param apiKey          required as {@code Authorization: Bearer KEY} on {@code /v1/*} and {@code /metrics}; null =
 *                        no key (loopback only)
 * @param maxPending      most generation requests (choices) admitted at once, running or waiting in the engine; more
 *                        are answered 429
 * @param maxN            largest {@code n} (choices per prompt)
 * @param maxBodyBytes    largest request body; larger ones are answered 413
 * @param ioThreads       Netty event-loop threads
 */
public record ServeConfig(String host, int port, String servedModelName, ApiKey apiKey, int maxPending, int maxN,
                          int maxBodyBytes, int ioThreads) {
    public ServeConfig {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("--host must not be empty (default 127.0.0.1)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port " + port + " must be in [0, 65535]");
        }
        if (servedModelName == null || servedModelName.isBlank()) {
            throw new IllegalArgumentException("--served-model-name must not be empty");
        }
        if (maxPending < 1) {
            throw new IllegalArgumentException("--max-pending " + maxPending + " must be >= 1");
        }
        if (maxN < 1) {
            throw new IllegalArgumentException("--max-n " + maxN + " must be >= 1");
        }
        if (maxBodyBytes < 1024) {
            throw new IllegalArgumentException("--max-body-mb must allow at least 1 KiB");
        }
        if (ioThreads < 1) {
            throw new IllegalArgumentException("--io-threads " + ioThreads + " must be >= 1");
        }
        if (apiKey == null && !isLoopback(host)) {
            throw new IllegalArgumentException("--host " + host + " is not a loopback address: serving beyond this"
                    + " machine needs an API key; put one in an environment variable and pass --api-key-env VAR");
        }
    }

    /** Loopback, port 8000, 256 pending requests, n up to 16, 32 MiB bodies, 2 I/O threads. */
    public static ServeConfig defaults(String servedModelName) {
        return new ServeConfig("127.0.0.1", 8000, servedModelName, null, 256, 16, 32 << 20, 2);
    }

    public ServeConfig withHost(String h) {
        return new ServeConfig(h, port, servedModelName, apiKey, maxPending, maxN, maxBodyBytes, ioThreads);
    }

    public ServeConfig withPort(int p) {
        return new ServeConfig(host, p, servedModelName, apiKey, maxPending, maxN, maxBodyBytes, ioThreads);
    }

    public ServeConfig withApiKey(ApiKey k) {
        return new ServeConfig(host, port, servedModelName, k, maxPending, maxN, maxBodyBytes, ioThreads);
    }

    public ServeConfig withMaxPending(int n) {
        return new ServeConfig(host, port, servedModelName, apiKey, n, maxN, maxBodyBytes, ioThreads);
    }

    public ServeConfig withMaxBodyBytes(int n) {
        return new ServeConfig(host, port, servedModelName, apiKey, maxPending, maxN, n, ioThreads);
    }

    static boolean isLoopback(String host) {
        try {
            for (InetAddress a : InetAddress.getAllByName(host)) {
                if (!a.isLoopbackAddress()) {
                    return false;
                }
            }
            return true;
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("--host " + host + " does not resolve: " + e.getMessage(), e);
        }
    }
}
