package io.stoker.llm.openai;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Settings of an {@link OpenAiClient}. Immutable; validated on {@link Builder#build()} with errors that name the
 * option. The API key is kept out of {@link #toString()} (and so out of logs and error messages).
 *
 * @param baseUrl               the server's base URL including {@code /v1}, e.g. {@code http://127.0.0.1:8000/v1}
 *                              (a query such as Azure's {@code ?api-version=...} is kept after the endpoint path)
 * @param apiKey                the key, or null for servers without one
 * @param apiKeyHeader          {@code Authorization} (sent as {@code Bearer KEY}, the default) or another header
 *                              that takes the bare key (Azure's {@code api-key})
 * @param headers               extra headers on every request (not secret: they may be logged)
 * @param maxConcurrentRequests most HTTP requests in flight at once; more wait in a FIFO queue
 * @param requestsPerSecond     client-side request rate limit; 0 = none
 * @param tokensPerMinute       client-side token rate limit (prompt plus completion, estimated before the request and
 *                              corrected by the response's usage); 0 = none
 * @param maxRetries            retries after the first attempt on 408, 429, 5xx, connection errors and timeouts
 * @param initialBackoff        first retry delay; doubled per retry, each delay jittered (half fixed, half random)
 * @param maxBackoff            cap of the exponential delay
 * @param maxRetryAfter         cap on a server's {@code Retry-After} (or {@code retry-after-ms})
 * @param requestTimeout        per attempt, from sending to the whole response read
 * @param connectTimeout        TCP (and TLS) connect timeout
 * @param retryTimeouts         whether an attempt that timed out is retried
 */
public record OpenAiClientConfig(URI baseUrl, String apiKey, String apiKeyHeader, Map<String, String> headers,
                                 int maxConcurrentRequests, double requestsPerSecond, long tokensPerMinute,
                                 int maxRetries, Duration initialBackoff, Duration maxBackoff, Duration maxRetryAfter,
                                 Duration requestTimeout, Duration connectTimeout, boolean retryTimeouts) {
    public OpenAiClientConfig {
        if (baseUrl == null || baseUrl.getScheme() == null
                || !(baseUrl.getScheme().equals("http") || baseUrl.getScheme().equals("https"))
                || baseUrl.getHost() == null) {
            throw new IllegalArgumentException("baseUrl=" + redact(baseUrl) + " must be an absolute http:// or https://"
                    + " URL such as http://127.0.0.1:8000/v1");
        }
        if (apiKey != null && apiKey.isEmpty()) {
            apiKey = null;
        }
        if (apiKeyHeader == null || apiKeyHeader.isBlank()) {
            throw new IllegalArgumentException("apiKeyHeader must name a header (Authorization or e.g. api-key)");
        }
        headers = headers == null ? Map.of() : Map.copyOf(headers);
        check(maxConcurrentRequests >= 1, "maxConcurrentRequests=" + maxConcurrentRequests + " must be >= 1");
        check(Double.isFinite(requestsPerSecond) && requestsPerSecond >= 0, "requestsPerSecond=" + requestsPerSecond
                + " must be >= 0 (0 = no limit)");
        check(tokensPerMinute >= 0, "tokensPerMinute=" + tokensPerMinute + " must be >= 0 (0 = no limit)");
        check(maxRetries >= 0, "maxRetries=" + maxRetries + " must be >= 0");
        positive(initialBackoff, "initialBackoff");
        positive(maxBackoff, "maxBackoff");
        positive(maxRetryAfter, "maxRetryAfter");
        positive(requestTimeout, "requestTimeout");
        positive(connectTimeout, "connectTimeout");
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    private static void positive(Duration d, String name) {
        check(d != null && !d.isNegative() && !d.isZero(), name + "=" + d + " must be a positive duration");
    }

    /** @return the URI without user info (which may hold credentials), for logs and errors */
    static String redact(URI u) {
        if (u == null) {
            return "null";
        }
        if (u.getUserInfo() == null) {
            return u.toString();
        }
        return u.getScheme() + "://***@" + u.getHost() + (u.getPort() >= 0 ? ":" + u.getPort() : "")
                + (u.getRawPath() == null ? "" : u.getRawPath());
    }

    /** @return true when a key is set */
    public boolean hasApiKey() {
        return apiKey != null;
    }

    @Override
    public String toString() {
        return "OpenAiClientConfig[baseUrl=" + redact(baseUrl) + ", apiKey=" + (apiKey == null ? "none" : "***")
                + ", apiKeyHeader=" + apiKeyHeader + ", headers=" + headers.keySet()
                + ", maxConcurrentRequests=" + maxConcurrentRequests + ", requestsPerSecond=" + requestsPerSecond
                + ", tokensPerMinute=" + tokensPerMinute + ", maxRetries=" + maxRetries + ", initialBackoff="
                + initialBackoff + ", maxBackoff=" + maxBackoff + ", maxRetryAfter=" + maxRetryAfter
                + ", requestTimeout=" + requestTimeout + ", connectTimeout=" + connectTimeout + ", retryTimeouts="
                + retryTimeouts + "]";
    }

    /**
     * Defaults: no key, 64 concurrent requests, no rate limits, 6 retries from 500 ms up to 30 s, Retry-After capped
     * at 60 s, 10 minutes per attempt, 10 s to connect, timeouts retried.
     */
    public static Builder builder(String baseUrl) {
        return new Builder(baseUrl);
    }

    /** Mutable builder; {@link #build()} validates. */
    public static final class Builder {
        private final String baseUrl;
        private String apiKey;
        private String apiKeyHeader = "Authorization";
        private final Map<String, String> headers = new LinkedHashMap<>();
        private int maxConcurrentRequests = 64;
        private double requestsPerSecond;
        private long tokensPerMinute;
        private int maxRetries = 6;
        private Duration initialBackoff = Duration.ofMillis(500);
        private Duration maxBackoff = Duration.ofSeconds(30);
        private Duration maxRetryAfter = Duration.ofSeconds(60);
        private Duration requestTimeout = Duration.ofMinutes(10);
        private Duration connectTimeout = Duration.ofSeconds(10);
        private boolean retryTimeouts = true;

        private Builder(String baseUrl) {
            this.baseUrl = baseUrl;
        }

        public Builder apiKey(String key) {
            apiKey = key;
            return this;
        }

        /**
         * Reads the key from an environment variable now.
         *
         * @throws IllegalArgumentException naming the variable (never its value) when it is unset or empty
         */
        public Builder apiKeyFromEnv(String variable) {
            String v = System.getenv(variable);
            if (v == null || v.isEmpty()) {
                throw new IllegalArgumentException("environment variable " + variable + " (the API key) is unset or"
                        + " empty; export it before starting");
            }
            apiKey = v;
            return this;
        }

        public Builder apiKeyHeader(String header) {
            apiKeyHeader = header;
            return this;
        }

        public Builder header(String name, String value) {
            headers.put(Objects.requireNonNull(name, "header name"), Objects.requireNonNull(value, "header value"));
            return this;
        }

        public Builder maxConcurrentRequests(int n) {
            maxConcurrentRequests = n;
            return this;
        }

        public Builder requestsPerSecond(double r) {
            requestsPerSecond = r;
            return this;
        }

        public Builder tokensPerMinute(long t) {
            tokensPerMinute = t;
            return this;
        }

        public Builder maxRetries(int n) {
            maxRetries = n;
            return this;
        }

        public Builder initialBackoff(Duration d) {
            initialBackoff = d;
            return this;
        }

        public Builder maxBackoff(Duration d) {
            maxBackoff = d;
            return this;
        }

        public Builder maxRetryAfter(Duration d) {
            maxRetryAfter = d;
            return this;
        }

        public Builder requestTimeout(Duration d) {
            requestTimeout = d;
            return this;
        }

        public Builder connectTimeout(Duration d) {
            connectTimeout = d;
            return this;
        }

        public Builder retryTimeouts(boolean b) {
            retryTimeouts = b;
            return this;
        }

        public OpenAiClientConfig build() {
            URI u;
            try {
                u = new URI(Objects.requireNonNull(baseUrl, "baseUrl").replaceAll("/+$", ""));
            } catch (URISyntaxException e) {
                // the reason and index only: the input may carry credentials
                throw new IllegalArgumentException("baseUrl is not a valid URL: " + e.getReason() + " at index "
                        + e.getIndex(), null);
            }
            return new OpenAiClientConfig(u, apiKey, apiKeyHeader, headers, maxConcurrentRequests, requestsPerSecond,
                    tokensPerMinute, maxRetries, initialBackoff, maxBackoff, maxRetryAfter, requestTimeout,
                    connectTimeout, retryTimeouts);
        }
    }
}
