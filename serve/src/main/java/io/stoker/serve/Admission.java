package io.stoker.serve;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The bounded queue in front of the engine: at most {@code limit} generation requests (choices) admitted at once,
 * running or waiting. A request that does not fit is refused at once (429) instead of queueing without bound.
 *
 * <p>Thread-safety: lock-free; any thread.
 */
final class Admission {
    private final int limit;
    private final AtomicInteger admitted = new AtomicInteger();

    Admission(int limit) {
        this.limit = limit;
    }

    /** @return true when all {@code n} were admitted (each later {@link #release}d once) */
    boolean tryAcquire(int n) {
        while (true) {
            int cur = admitted.get();
            if (cur + n > limit) {
                return false;
            }
            if (admitted.compareAndSet(cur, cur + n)) {
                return true;
            }
        }
    }

    void release(int n) {
        admitted.addAndGet(-n);
    }

    int admitted() {
        return admitted.get();
    }

    int limit() {
        return limit;
    }
}
