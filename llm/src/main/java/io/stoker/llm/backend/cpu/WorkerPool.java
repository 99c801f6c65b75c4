package io.stoker.llm.backend.cpu;

import io.stoker.llm.IdleStrategies;
import io.stoker.runtime.channel.IdleKind;
import org.agrona.concurrent.IdleStrategy;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of threads that run one data-parallel loop at a time: {@link #parallelFor} publishes a job of
 * {@code n} chunks; the calling thread and the workers claim chunks from the job's counter, and the call returns
 * when every chunk is done. The caller never waits for a worker that has not started: on a busy machine it simply
 * runs the chunks itself, and a worker that wakes late finds the job's counter exhausted. Which thread runs which
 * chunk never changes a result: every kernel computes each output element from its own inputs in a fixed order.
 *
 * <p>Waits follow one policy, an {@link IdleKind} mapped to an Agrona {@link IdleStrategy} ({@link IdleStrategies}):
 * workers wait for the next job with it (the next one usually follows within microseconds, so the back-off spins a
 * while, then parks without a yield phase: publishing a job unparks a parked worker at once, while a worker that
 * yielded to another process on a busy host would start its chunks late). The caller's wait for the last chunks is short by
 * construction, so under {@code BACKOFF} it spins, then yields, and never parks (a parked caller would queue behind
 * other runnable threads on a busy host); under {@code PARK} it parks and the worker that finishes the last chunk
 * unparks it.
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
        final Thread caller;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Job(Task task, int n, Thread caller) {
            this.task = task;
            this.n = n;
            this.caller = caller;
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
                    // release: the chunk's writes happen-before the caller's read of done
                    if (done.incrementAndGet() == n && worker != 0) {
                        LockSupport.unpark(caller);
                    }
                }
            }
        }
    }

    /** Busy spins before a waiter yields: a job or a chunk usually completes within microseconds. */
    static final long SPINS = 2_000;
    static final long WORKER_YIELDS = 0;
    static final long CALLER_YIELDS = 50;
    static final long MAX_PARK_NANOS = 500_000;

    private final Thread[] workers;
    private final int threads;
    private final IdleKind idle;
    private final IdleStrategy callerIdle;
    private volatile Job current;
    private volatile boolean closed;

    public WorkerPool(int threads, String name) {
        this(threads, name, IdleKind.BACKOFF);
    }

    public WorkerPool(int threads, String name, IdleKind idle) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads=" + threads + " must be >= 1");
        }
        this.threads = threads;
        this.idle = idle;
        this.callerIdle = IdleStrategies.of(idle, SPINS, idle == IdleKind.BACKOFF ? Long.MAX_VALUE : CALLER_YIELDS,
                MAX_PARK_NANOS);
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

    public IdleKind idle() {
        return idle;
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
        Job job = new Job(t, n, Thread.currentThread());
        current = job; // publishes the job
        if (idle.parks()) {
            for (Thread w : workers) {
                LockSupport.unpark(w);
            }
        }
        job.work(0);
        IdleStrategy wait = callerIdle;
        wait.reset();
        while (job.done.get() < n) {
            wait.idle();
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
        IdleStrategy wait = IdleStrategies.of(idle, SPINS, WORKER_YIELDS, MAX_PARK_NANOS);
        Job last = null;
        while (!closed) {
            Job j = current;
            if (j != last && j != null) {
                last = j;
                j.work(id);
                wait.reset();
            } else {
                wait.idle();
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
