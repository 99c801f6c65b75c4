package io.stoker.runtime.actor;

import io.stoker.runtime.WaitPolicy;
import io.stoker.runtime.channel.IdleKind;
import io.stoker.runtime.internal.ActorAccess;
import io.stoker.runtime.internal.ActorProgram;
import io.stoker.runtime.internal.ActorThread;
import io.stoker.runtime.internal.Waiter;
import org.agrona.concurrent.ManyToOneConcurrentLinkedQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A live actor: a state object created once by its factory and owned by one dedicated thread for its whole life.
 *
 * <p>The thread runs an agent loop: drain the mailbox (eager calls, install/uninstall of compiled-graph programs),
 * advance every installed graph program, do the state's own {@link BackgroundWork} if it has any, then idle with the
 * configured {@link IdleKind}. Eager calls
 * ({@link #call}) return a future completed on the actor's thread; prefer the {@code *Async} stages of
 * {@link CompletableFuture} for heavy continuations.
 *
 * <p>{@link #kill} fails everything waiting on the actor at once, even while one of its methods runs: see there for
 * what happens to that method's thread.
 *
 * <p>Thread-safety: all public methods may be called from any thread.
 *
 * @param <A> the actor's class
 */
public final class ActorHandle<A> implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ActorHandle.class);

    /** An entry of the mailbox: runs on the actor thread, or fails when the actor is gone. */
    private interface Mail {
        void run(Object actor);

        void fail(Throwable cause);
    }

    static {
        ActorAccess.register(new Bridge());
    }

    private final long id;
    private final ActorSpec<A> spec;
    private final ActorContext context;
    private final Waiter waiter;
    private final ActorThread thread;
    private final ManyToOneConcurrentLinkedQueue<Mail> mailbox = new ManyToOneConcurrentLinkedQueue<>();
    private final CompletableFuture<Void> ready = new CompletableFuture<>();
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();
    private final Consumer<ActorHandle<?>> onTerminated;
    private final Waiter.WorkCheck hasWork = this::hasWork; // one instance: the idle loop must not allocate

    private volatile ActorState state = ActorState.STARTING;
    private volatile boolean stopRequested;
    private volatile Throwable killCause;
    private volatile Throwable deathCause;
    private volatile ActorProgram[] programs = new ActorProgram[0]; // written by the actor thread, read by killers
    private volatile Mail running; // the eager call running now, failed at once by kill
    private A instance;
    private BackgroundWork background; // the instance when it has work of its own; actor thread only

    private ActorHandle(long id, ActorSpec<A> spec, ActorContext context, WaitPolicy wait,
                        Consumer<ActorHandle<?>> onTerminated) {
        this.id = id;
        this.spec = spec;
        this.context = context;
        this.waiter = new Waiter(wait);
        this.onTerminated = onTerminated;
        this.thread = new ActorThread(this::runLoop, "stoker-actor-" + spec.name(), wait);
        this.waiter.bindOwner(thread);
    }

    /** The runtime's access to what is not public API (see {@link ActorAccess}). */
    private static final class Bridge implements ActorAccess.Bridge {
        @Override
        public <A> ActorHandle<A> start(long id, ActorSpec<A> spec, ActorContext context, WaitPolicy wait,
                                        Consumer<ActorHandle<?>> onTerminated) {
            ActorHandle<A> h = new ActorHandle<>(id, spec, context, wait, onTerminated);
            h.thread.start();
            return h;
        }

        @Override
        public CompletableFuture<Void> install(ActorHandle<?> actor, ActorProgram program) {
            return actor.install(program);
        }

        @Override
        public CompletableFuture<Void> uninstall(ActorHandle<?> actor, ActorProgram program) {
            return actor.uninstall(program);
        }

        @Override
        public ActorThread thread(ActorHandle<?> actor) {
            return actor.thread;
        }

        @Override
        public Runnable wakeHook(ActorHandle<?> actor) {
            Waiter w = actor.waiter;
            return w.kind().parks() ? w::wake : () -> { };
        }
    }

    /**
     * Waits until the factory has built the actor.
     *
     * @throws ActorDiedException naming the actor when its factory threw or the timeout passed
     */
    public void awaitReady(long timeout, TimeUnit unit) {
        try {
            ready.get(timeout, unit);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new ActorDiedException(name(), "actor '" + name() + "' failed to start: " + e.getCause(),
                    e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            kill(new IllegalStateException("start timed out"));
            throw new ActorDiedException(name(), "actor '" + name() + "' did not finish construction within "
                    + unit.toMillis(timeout) + " ms; raise the actor start timeout or make the constructor faster", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ActorDiedException(name(), "interrupted while waiting for actor '" + name() + "'", e);
        }
    }

    // ------------------------------------------------------------------------------------------ identity

    public long id() {
        return id;
    }

    public String name() {
        return spec.name();
    }

    public ActorSpec<A> spec() {
        return spec;
    }

    public ActorContext context() {
        return context;
    }

    public List<String> gpuIds() {
        return context.gpuIds();
    }

    public ActorState state() {
        return state;
    }

    /** @return true while the actor accepts calls and programs */
    public boolean isAlive() {
        ActorState s = state;
        return s == ActorState.RUNNING || s == ActorState.STARTING;
    }

    /** @return why the actor died or was closed, or null while alive */
    public Throwable deathCause() {
        return deathCause;
    }

    /** @return what the actor's thread is running right now and since when (for timeout diagnostics), or null */
    public String busyDescription() {
        return thread.busyDescription(name());
    }

    /** @return the wait policy of the actor's thread */
    public WaitPolicy waitPolicy() {
        return thread.waitPolicy();
    }

    // ------------------------------------------------------------------------------------------ eager calls

    public <R> CompletableFuture<R> call(ActorMethod0<A, R> method) {
        return submitCall(method, a -> method.apply(a));
    }

    public <T1, R> CompletableFuture<R> call(ActorMethod1<A, T1, R> method, T1 a1) {
        return submitCall(method, a -> method.apply(a, a1));
    }

    public <T1, T2, R> CompletableFuture<R> call(ActorMethod2<A, T1, T2, R> method, T1 a1, T2 a2) {
        return submitCall(method, a -> method.apply(a, a1, a2));
    }

    public <T1, T2, T3, R> CompletableFuture<R> call(ActorMethod3<A, T1, T2, T3, R> method, T1 a1, T2 a2, T3 a3) {
        return submitCall(method, a -> method.apply(a, a1, a2, a3));
    }

    @FunctionalInterface
    private interface Body<A, R> {
        R run(A actor) throws Exception;
    }

    private <R> CompletableFuture<R> submitCall(Serializable method, Body<A, R> body) {
        CompletableFuture<R> f = new CompletableFuture<>();
        post(new Mail() {
            @Override
            @SuppressWarnings("unchecked")
            public void run(Object actor) {
                try {
                    f.complete(body.run((A) actor));
                } catch (VirtualMachineError e) {
                    f.completeExceptionally(new ActorCallException(name(), MethodNames.of(method, "lambda"), e));
                    throw e;
                } catch (Throwable t) {
                    f.completeExceptionally(new ActorCallException(name(), MethodNames.of(method, "lambda"), t));
                }
            }

            @Override
            public void fail(Throwable cause) {
                f.completeExceptionally(cause);
            }
        });
        return f;
    }

    // ------------------------------------------------------------------------------------------ programs

    private CompletableFuture<Void> install(ActorProgram program) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        post(new Mail() {
            @Override
            public void run(Object actor) {
                ActorProgram[] p = Arrays.copyOf(programs, programs.length + 1);
                p[p.length - 1] = program;
                programs = p;
                done.complete(null);
            }

            @Override
            public void fail(Throwable cause) {
                done.completeExceptionally(cause);
            }
        });
        return done;
    }

    private CompletableFuture<Void> uninstall(ActorProgram program) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        post(new Mail() {
            @Override
            public void run(Object actor) {
                ActorProgram[] before = programs;
                programs = Arrays.stream(before).filter(p -> p != program).toArray(ActorProgram[]::new);
                if (programs.length != before.length) {
                    removed(program);
                }
                done.complete(null);
            }

            @Override
            public void fail(Throwable cause) {
                done.complete(null);
            }
        });
        return done;
    }

    private void post(Mail mail) {
        if (!isAlive()) {
            mail.fail(gone());
            return;
        }
        mailbox.offer(mail);
        waiter.wake();
        // The actor may have ended between the check and the offer; its final drain fails what it finds,
        // and this second drain covers mail that arrived after that final drain.
        if (!isAlive()) {
            failMailbox(gone());
        }
    }

    private ActorDiedException gone() {
        Throwable cause = deathCause;
        String how = state == ActorState.CLOSED ? "was closed" : "died";
        return new ActorDiedException(name(), "actor '" + name() + "' " + how
                + (cause != null && state == ActorState.DEAD ? ": " + cause : "")
                + "; create a new actor to continue", cause);
    }

    // ------------------------------------------------------------------------------------------ lifecycle

    /**
     * Kills the actor: fails, at once and on the calling thread, every pending execution of the graphs installed on
     * it ({@code GraphUnavailableException}), the eager call it is running and every queued call
     * ({@link ActorDiedException}); later calls fail too. Idempotent.
     *
     * <p>The actor's thread is a Java thread, and interruption is all Java offers to stop it: it is interrupted, so a
     * method blocked in an interruptible wait (sleep, wait, a lock, a blocking queue, a blocking collective) returns
     * early, typically with an exception. A method that ignores interruption runs on until it returns; whatever it
     * returns then is dropped, never delivered. The thread then closes the actor's state (if it is
     * {@link AutoCloseable}) and ends; only then are its devices and CPU slots given back to the runtime, because
     * device resources such as a CUDA context belong to that thread.
     */
    public void kill(Throwable cause) {
        Throwable c = cause == null ? new IllegalStateException("killed") : cause;
        synchronized (this) {
            if (killCause != null || state == ActorState.DEAD || state == ActorState.CLOSED) {
                return;
            }
            killCause = c;
            deathCause = c;
            state = ActorState.DEAD;
        }
        LOG.warn("actor '{}' killed: {}", name(), c.toString());
        Throwable reason = gone();
        failPrograms(programs, reason);
        Mail m = running;
        if (m != null) {
            m.fail(reason);
        }
        failMailbox(reason);
        waiter.wake();
        if (Thread.currentThread() != thread) {
            thread.interrupt();
        }
    }

    /** Stops the actor gracefully and waits up to 30 s for its thread; idempotent. */
    @Override
    public void close() {
        stopRequested = true;
        waiter.wake();
        java.util.concurrent.locks.LockSupport.unpark(thread);
        if (Thread.currentThread() != thread) {
            try {
                terminated.get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.warn("actor '{}' did not stop within 30 s ({}); its thread is left running", name(),
                        busyDescription());
            }
        }
    }

    /** @return a future completed when the actor's thread has ended */
    public CompletableFuture<Void> terminationFuture() {
        return terminated;
    }

    private void runLoop() {
        try {
            instance = spec.factory().create(context);
        } catch (Throwable t) {
            deathCause = t;
            state = ActorState.DEAD;
            ready.completeExceptionally(t);
            finish(t);
            return;
        }
        synchronized (this) {
            if (state == ActorState.STARTING) {
                state = ActorState.RUNNING;
            }
        }
        background = instance instanceof BackgroundWork b ? b : null;
        ready.complete(null);
        LOG.debug("actor '{}' started (gpus={})", name(), context.gpuIds());
        Throwable cause = null;
        try {
            while (true) {
                if (killCause != null) {
                    cause = killCause;
                    break;
                }
                if (stopRequested) {
                    break;
                }
                int work = drainMailbox();
                ActorProgram[] ps = programs;
                for (ActorProgram p : ps) {
                    work += p.doWork(instance);
                }
                if (background != null && killCause == null) {
                    work += background.doBackgroundWork();
                }
                waiter.idle(work, ps.length > 0 || background != null, hasWork);
            }
        } catch (Throwable t) {
            cause = t;
            LOG.error("actor '{}' died", name(), t);
        }
        finish(cause);
    }

    private boolean hasWork() {
        if (!mailbox.isEmpty() || killCause != null || stopRequested) {
            return true;
        }
        if (background != null && background.hasBackgroundWork()) {
            return true;
        }
        for (ActorProgram p : programs) {
            if (p.hasPendingInput()) {
                return true;
            }
        }
        return false;
    }

    private int drainMailbox() {
        int n = 0;
        Mail m;
        while (killCause == null && (m = mailbox.poll()) != null) {
            running = m;
            try {
                m.run(instance);
            } finally {
                running = null;
            }
            n++;
        }
        return n;
    }

    private void removed(ActorProgram p) {
        try {
            p.onRemoved();
        } catch (RuntimeException e) {
            LOG.warn("program {} failed to release its resources on actor '{}'", p.name(), name(), e);
        }
    }

    private void failPrograms(ActorProgram[] ps, Throwable reason) {
        for (ActorProgram p : ps) {
            try {
                p.onActorDeath(reason);
            } catch (RuntimeException e) {
                LOG.warn("program {} failed to handle the end of actor '{}'", p.name(), name(), e);
            }
        }
    }

    private void finish(Throwable cause) {
        Thread.interrupted(); // a kill's interrupt must not disturb closing the actor's state
        synchronized (this) {
            if (state != ActorState.DEAD) {
                if (cause != null) {
                    deathCause = cause;
                    state = ActorState.DEAD;
                } else {
                    deathCause = new IllegalStateException("actor '" + name() + "' was closed");
                    state = ActorState.CLOSED;
                }
            }
        }
        Throwable reason = gone();
        ActorProgram[] last = programs;
        failPrograms(last, reason);
        programs = new ActorProgram[0];
        for (ActorProgram p : last) {
            removed(p);
        }
        failMailbox(reason);
        if (instance instanceof AutoCloseable) {
            try {
                ((AutoCloseable) instance).close();
            } catch (Exception e) {
                LOG.warn("closing actor '{}' state failed", name(), e);
            }
        }
        Exception resources = thread.closeRegistered(); // e.g. the CUDA device CudaActors.onDevice opened
        if (resources != null) {
            LOG.warn("closing actor '{}' resources failed", name(), resources);
        }
        instance = null;
        thread.markIdle();
        try {
            onTerminated.accept(this);
        } finally {
            terminated.complete(null);
        }
    }

    private synchronized void failMailbox(Throwable reason) {
        Mail m;
        while ((m = mailbox.poll()) != null) {
            m.fail(reason);
        }
    }

    @Override
    public String toString() {
        return "Actor[" + name() + ", " + state + (context.hasGpu() ? ", gpus=" + context.gpuIds() : "") + "]";
    }
}
