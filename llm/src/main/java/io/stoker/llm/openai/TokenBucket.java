package io.stoker.llm.openai;

/**
 * A token bucket for client-side rate limits: {@code capacity} units, refilled at {@code ratePerSecond}. A take may
 * drive the level negative (a request larger than the bucket, or usage above the estimate), which later takes then
 * wait out.
 *
 * <p>Not thread-safe: the client calls it under its lock.
 */
final class TokenBucket {
    private final double capacity;
    private final double perNano;
    private double level;
    private long last;

    TokenBucket(double capacity, double ratePerSecond, long nowNanos) {
        this.capacity = capacity;
        this.perNano = ratePerSecond / 1e9;
        this.level = capacity;
        this.last = nowNanos;
    }

    private void refill(long now) {
        if (now > last) {
            level = Math.min(capacity, level + (now - last) * perNano);
            last = now;
        }
    }

    /** @return nanoseconds until {@code amount} (at most a full bucket) can be taken; 0 = now */
    long nanosUntil(double amount, long now) {
        refill(now);
        double need = Math.min(amount, capacity);
        if (level >= need) {
            return 0;
        }
        return (long) Math.ceil((need - level) / perNano);
    }

    void take(double amount, long now) {
        refill(now);
        level -= amount;
    }

    /** Returns units (a refund when positive, a debit when negative). */
    void giveBack(double amount, long now) {
        refill(now);
        level = Math.min(capacity, level + amount);
    }
}
