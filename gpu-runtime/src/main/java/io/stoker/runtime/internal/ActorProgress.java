package io.stoker.runtime.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * How far one actor has got through the executions of one compiled graph: which execution its task runs now, the
 * last execution all its tasks finished, and the last execution in which one of its tasks failed. Communicators read
 * it to fail a collective at once when a rank will never join it.
 *
 * <p>One object per actor and graph, all created together: the written fields are padded off their neighbours'
 * cache lines ({@link CacheLines}).
 *
 * <p>Thread-safety: written by the actor's thread only; {@link #endedThrough()}, {@link #failedExecution()} and
 * {@link #failure()} may be read by any thread.
 */
public final class ActorProgress extends ActorProgressFields {
    private static final VarHandle ENDED;

    static {
        try {
            ENDED = MethodHandles.lookup().findVarHandle(ActorProgressFields.class, "ended", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused")
    long q00, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11, q12, q13, q14, q15;

    public ActorProgress(String actorName) {
        super(actorName);
    }

    public String actorName() {
        return actorName;
    }

    /** Marks that the actor's tasks now run execution {@code execution}. */
    public void begin(long execution) {
        current = execution;
    }

    /** @return the execution the actor's tasks run now (meaningful on the actor's thread) */
    public long current() {
        return current;
    }

    /** Publishes that every task of this actor finished every execution up to {@code execution}. */
    public void ended(long execution) {
        ENDED.setRelease(this, execution);
    }

    /** @return the last execution every task of this actor has finished, or -1 */
    public long endedThrough() {
        return (long) ENDED.getAcquire(this);
    }

    /** Records that a task of this actor failed (or was skipped) in {@code execution}. */
    public void failed(long execution, Throwable cause) {
        failure = cause;
        failedExecution = execution; // volatile: publishes the cause
    }

    /** @return the last execution in which a task of this actor failed, or -1 */
    public long failedExecution() {
        return failedExecution;
    }

    /** @return why the task of {@link #failedExecution()} failed */
    public Throwable failure() {
        return failure;
    }
}

/** Padding before {@link ActorProgressFields}. */
abstract class ActorProgressPad {
    @SuppressWarnings("unused")
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
}

/** The fields of {@link ActorProgress}, between two pads. */
abstract class ActorProgressFields extends ActorProgressPad {
    final String actorName;
    long current;
    @SuppressWarnings("unused") // accessed through ActorProgress.ENDED
    long ended = -1;
    volatile Throwable failure;
    volatile long failedExecution = -1;

    ActorProgressFields(String actorName) {
        this.actorName = actorName;
    }
}
