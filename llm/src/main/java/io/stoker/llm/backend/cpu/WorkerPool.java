package io.stoker.llm.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of threads that run one data-parallel loop at a time: {@link #parallelFor} publishes a job of
 * {@code n} chunks; the calling thread and the workers claim chunks from the job's counter, and the call returns
 * when every chunk is done. The caller never waits for a worker that has not started: on a busy machine it simply
 * runs the chunks itself, and a worker that wakes late finds the job's counter exhausted. Which thread runs which
 * chunk never changes a result: every kernel computes each output element from its own inputs in a fixed order.
 *
 * <p>Workers spin briefly after a job (the next one usually follows within microseconds), then park.
 *
 * <p>Thread-safety: {@link #parallelFor} is called by one thread at a time (the model's owner thread).
 */
public final class WorkerPool implements AutoCloseable {
    /** A chunked loop body; {@code worker} is in {@code [0, threads())} and indexes per-thread scratch. */
    @FunctionalInterface
    public interface Task {
        void run(int chunk, int worker);
    }

    /** One parallel loop; published through {@link #current} (volatile), so its final fields are visible. */
    private static final class Job {
        final Task task;
        final int n;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Job(Task task, int n) {
            this.task = task;
            this.n = n;
        }

        /** Claims and runs chunks until none is left. */
        void work(int worker) {
            int c;
            while ((c = next.getAndIncrement()) < n) {
                try {
                    task.run(c, worker);
                } catch (Throwable t) {
                    failure = t;
                } finally {
                    done.incrementAndGet(); // release: the chunk's writes happen-before the caller's read of done
                }
            }
        }
    }

    private static final int SPINS = 2_000;

    private final Thread[] workers;
    private final int threads;
    private volatile Job current;
    private volatile boolean closed;

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
        Job job = new Job(t, n);
        current = job; // publishes the job
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        job.work(0);
        int spins = 0;
        while (job.done.get() < n) {
            if (++spins < SPINS) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        Throwable f = job.failure;
        if (f != null) {
            if (f instanceof RuntimeException) {
                throw (RuntimeException) f;
            }
            if (f instanceof Error) {
                throw (Error) f;
            }
            throw new IllegalStateException(f);
        }
    }

    private void loop(int id) {
        Job last = null;
        int idle = 0;
        while (!closed) {
            Job j = current;
            if (j != last && j != null) {
                last = j;
                j.work(id);
                idle = 0;
            } else if (++idle < SPINS) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(500_000);
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
