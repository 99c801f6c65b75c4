package io.stoker.runtime.internal;

import io.stoker.runtime.WaitPolicy;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The thread of one actor. Besides running the actor's loop it records what it runs now, for timeout diagnostics and
 * task watchdogs ({@link #markBusy}), and which compiled graph's task it runs, so collectives called inside a method
 * know which graph and execution they belong to ({@link #enterTask}).
 *
 * <p>Thread-safety: the mark/enter methods are called by this thread only; the readers by any thread (racy reads of
 * diagnostics; the owner is published with a release store after the fields it guards).
 */
public final class ActorThread extends Thread {
    private static final VarHandle OWNER;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            OWNER = l.findVarHandle(ActorThread.class, "busyOwner", Object.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final WaitPolicy waitPolicy;
    private String busyWith;
    private long busySinceNanos;
    @SuppressWarnings("unused") // accessed through OWNER
    private Object busyOwner;
    private GraphScope scope;
    private ActorProgress progress;
    private final java.util.ArrayDeque<AutoCloseable> closeOnExit = new java.util.ArrayDeque<>();

    public ActorThread(Runnable body, String name, WaitPolicy waitPolicy) {
        super(body, name);
        this.waitPolicy = waitPolicy;
        setDaemon(true);
    }

    /** @return the calling thread as an actor thread, or null when it is not one */
    public static ActorThread current() {
        Thread t = Thread.currentThread();
        return t instanceof ActorThread ? (ActorThread) t : null;
    }

    public WaitPolicy waitPolicy() {
        return waitPolicy;
    }

    /**
     * Records that this thread starts running {@code what} for {@code owner} (a graph program, or null).
     *
     * @param nowNanos when it started ({@link System#nanoTime()}), or 0 when the caller does not read the clock per
     *                 task (descriptions then leave out the duration)
     */
    public void markBusy(Object owner, String what, long nowNanos) {
        busySinceNanos = nowNanos;
        busyWith = what;
        OWNER.setRelease(this, owner); // publishes the fields above
    }

    /** Clears {@link #markBusy}. */
    public void markIdle() {
        OWNER.setRelease(this, null);
    }

    /** @return what this thread runs now and, when known, for how long, or null when it runs no task (racy) */
    public String busyDescription(String actorName) {
        if (OWNER.getAcquire(this) == null) {
            return null;
        }
        String what = busyWith;
        long since = busySinceNanos;
        if (since == 0) {
            return actorName + " running " + what;
        }
        long ms = (System.nanoTime() - since) / 1_000_000;
        return actorName + " running " + what + " for " + ms + " ms";
    }

    /** @return when the running task started ({@link System#nanoTime()}), or 0; read after {@link #busyOwner()} */
    public long busySinceNanos() {
        return busySinceNanos;
    }

    /** @return the owner given to the running task's {@link #markBusy}, or null when idle */
    public Object busyOwner() {
        return OWNER.getAcquire(this);
    }

    /** Marks that the next calls on this thread run inside execution {@code progress.current()} of {@code scope}. */
    public void enterTask(GraphScope graph, ActorProgress p) {
        this.scope = graph;
        this.progress = p;
    }

    /** Ends {@link #enterTask}. */
    public void exitTask() {
        this.scope = null;
        this.progress = null;
    }

    /**
     * Registers a resource this thread opened for its actor (a CUDA device) to close when the actor ends, after the
     * actor's own {@code close()}: newest first, idempotent resources only (an actor may close them itself).
     * This thread only.
     */
    public void closeOnExit(AutoCloseable resource) {
        closeOnExit.push(resource);
    }

    /** Closes what {@link #closeOnExit} registered; @return the first failure, with the others suppressed, or null */
    public Exception closeRegistered() {
        Exception failure = null;
        AutoCloseable r;
        while ((r = closeOnExit.poll()) != null) {
            try {
                r.close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        return failure;
    }

    /** @return the graph whose task this thread runs now, or null (an eager call, or no task) */
    public GraphScope scope() {
        return scope;
    }

    /** @return this actor's progress in {@link #scope()}, or null */
    public ActorProgress progress() {
        return progress;
    }
}
