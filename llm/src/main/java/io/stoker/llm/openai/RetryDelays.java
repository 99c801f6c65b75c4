package io.stoker.llm.openai;

import java.net.http.HttpHeaders;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/** Retry delays: jittered exponential backoff, or the server's {@code Retry-After} (capped). */
final class RetryDelays {
    private RetryDelays() {
    }

    /**
     * @param retry 1 for the first retry
     * @return {@code d/2 + random(0, d/2)} with {@code d = min(max, initial * 2^(retry-1))}
     */
    static long backoffNanos(int retry, Duration initial, Duration max) {
        double d = Math.min(max.toNanos(), initial.toNanos() * Math.pow(2, Math.min(retry - 1, 40)));
        return (long) (d / 2 + ThreadLocalRandom.current().nextDouble() * d / 2);
    }

    /** @return the server's requested delay, capped, plus up to 10% jitter so that clients told alike spread out */
    static long retryAfterNanos(Duration requested, Duration cap) {
        long n = Math.min(requested.toNanos(), cap.toNanos());
        return n + (long) (ThreadLocalRandom.current().nextDouble() * n * 0.1);
    }

    /**
     * Reads {@code retry-after-ms} (OpenAI's) or {@code Retry-After}: seconds (possibly fractional) or an HTTP date.
     *
     * @return the delay, or empty when absent or unreadable
     */
    static Optional<Duration> retryAfter(HttpHeaders headers) {
        Optional<String> ms = headers.firstValue("retry-after-ms");
        if (ms.isPresent()) {
            try {
                double v = Double.parseDouble(ms.get().trim());
                if (v >= 0 && Double.isFinite(v)) {
                    return Optional.of(Duration.ofNanos((long) (v * 1e6)));
                }
            } catch (NumberFormatException ignored) {
                // fall through to Retry-After
            }
        }
        Optional<String> ra = headers.firstValue("retry-after");
        if (ra.isEmpty()) {
            return Optional.empty();
        }
        String v = ra.get().trim();
        try {
            double s = Double.parseDouble(v);
            return s >= 0 && Double.isFinite(s) ? Optional.of(Duration.ofNanos((long) (s * 1e9))) : Optional.empty();
        } catch (NumberFormatException e) {
            try {
                ZonedDateTime at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME);
                Duration d = Duration.between(ZonedDateTime.now(at.getZone()), at);
                return Optional.of(d.isNegative() ? Duration.ZERO : d);
            } catch (DateTimeParseException e2) {
                return Optional.empty();
            }
        }
    }
}
