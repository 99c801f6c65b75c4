package io.stoker.runtime.graph;

import java.util.concurrent.TimeUnit;

/**
 * The other process of a cross-process edge on this host, checked for life at most every 50 ms (a process-table
 * look-up), so a dead peer fails the waiting execution within that time instead of hanging it. Owner thread only.
 */
final class PeerProcess {
    private static final long PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final long pid;
    private long lastCheck;
    private boolean gone;

    PeerProcess(long pid) {
        this.pid = pid;
        this.lastCheck = System.nanoTime() - PERIOD_NANOS;
    }

    long pid() {
        return pid;
    }

    /** @return true once no live process has the peer's pid (checked at most every 50 ms) */
    boolean isGone() {
        if (gone) {
            return true;
        }
        long now = System.nanoTime();
        if (now - lastCheck < PERIOD_NANOS) {
            return false;
        }
        lastCheck = now;
        gone = !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        return gone;
    }
}
