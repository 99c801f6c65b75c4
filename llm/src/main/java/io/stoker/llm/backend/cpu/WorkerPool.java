package io.stoker.llm.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of threads that run one data-parallel loop at a time: {@link #parallelFor} splits work into chunks,
 * the calling thread and the workers claim chunks from a shared counter, and the call returns when all chunks are
 * done. Which thread runs which chunk never changes a result: every kernel computes each output element from
 * its own inputs in a fixed order.
 *
 * <p>Workers spin briefly after a loop (the next one usually follows within microseconds), then park.
 *
 * <p>Thread-safety: {@link #parallelFor} is called by one thread at a time (the model's owner thread).
 */
public final class WorkerPool implements AutoCloseable {
    /** A chunked loop body; {@code worker} is in {@code [0, threads())} and indexes per-thread scratch. */
    @FunctionalInterface
    public interface Task {
        void run(int chunk, int worker);
    }

    private static final int SPINS = 20_000;

    private final Thread[] workers;
    private final int threads;
    private final AtomicInteger nextChunk = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();
    private volatile Task task;
    private volatile int chunks;
    private volatile long generation; // published last by the caller: workers read task and chunks after it
    private volatile boolean closed;
    private volatile Throwable failure;

    public WorkerPool(int threads, String name) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads=" + threads + " must be >= 1");
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            final int id = i + 1;
            workers[i] = new Thread(() -> loop(id), name + "-" + id);
            workers[i].setDaemon(true);
            workers[i].start();
        }
    }

    public int threads() {
        return threads;
    }

    /** Runs {@code task} for chunks {@code 0..n-1} across the pool and returns when all are done. */
    public void parallelFor(int n, Task t) {
        if (n <= 0) {
            return;
        }
        if (threads == 1 || n == 1) {
            for (int c = 0; c < n; c++) {
                t.run(c, 0);
            }
            return;
        }
        task = t;
        chunks = n;
        nextChunk.set(0);
        running.set(workers.length);
        generation = generation + 1; // publishes task, chunks, nextChunk
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        runChunks(t, n, 0);
        int spins = 0;
        while (running.get() > 0) {
            if (++spins < SPINS) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        task = null;
        Throwable f = failure;
        if (f != null) {
            failure = null;
            if (f instanceof RuntimeException) {
                throw (RuntimeException) f;
            }
            if (f instanceof Error) {
                throw (Error) f;
            }
            throw new IllegalStateException(f);
        }
    }

    private void runChunks(Task t, int n, int worker) {
        int c;
        while ((c = nextChunk.getAndIncrement()) < n) {
            t.run(c, worker);
        }
    }

    private void loop(int id) {
        long seen = 0;
        while (!closed) {
            long g = generation;
            if (g == seen) {
                int spins = 0;
                while ((g = generation) == seen && !closed) {
                    if (++spins < SPINS) {
                        Thread.onSpinWait();
                    } else {
                        LockSupport.parkNanos(1_000_000);
                    }
                }
                if (closed) {
                    return;
                }
            }
            seen = g;
            try {
                runChunks(task, chunks, id);
            } catch (Throwable e) {
                failure = e;
                nextChunk.set(Integer.MAX_VALUE / 2);
            } finally {
                running.decrementAndGet();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
