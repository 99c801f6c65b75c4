package io.stoker.runtime.comm;

import io.stoker.runtime.actor.ActorHandle;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Collective communication among a fixed group of actors, one rank each (rank = position in {@link #members()}).
 *
 * <p>Buffers are primitive arrays ({@code float[]}, {@code double[]}, {@code int[]}, {@code long[]}); a GPU
 * implementation (NCCL) takes device buffers through the same calls. Every rank must call the same collectives in
 * the same order with buffers of the same type and length; a mismatch fails the collective on every rank with a
 * message that names both calls. Compiled graphs use {@link #start} (non-blocking, so an actor can interleave other
 * graphs); actor methods may use the blocking forms.
 *
 * <p>A rank may contribute a {@link Throwable} instead of a buffer (a failed upstream task): every rank then receives
 * that throwable as its result, so the group stays in step and the failure reaches every downstream task.
 */
public interface Communicator extends AutoCloseable {
    /** @return a name for diagnostics */
    String name();

    /** @return the group, in rank order */
    List<ActorHandle<?>> members();

    default int worldSize() {
        return members().size();
    }

    /** @return the rank of {@code actor} in this group, or -1 when it is not a member */
    default int rankOf(ActorHandle<?> actor) {
        List<ActorHandle<?>> m = members();
        for (int i = 0; i < m.size(); i++) {
            if (m.get(i).id() == actor.id()) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Starts this rank's part of a collective without blocking.
     *
     * @param kind    which collective
     * @param op      the reduction (ignored by {@link CollectiveKind#ALLGATHER})
     * @param rank    the caller's rank
     * @param buffer  the rank's contribution, not modified
     * @return a handle to poll
     */
    CollectiveHandle start(CollectiveKind kind, ReduceOp op, int rank, Object buffer);

    /** Like {@link #start}, but the result is written back into {@code buffer} (allreduce only). */
    CollectiveHandle startInPlace(ReduceOp op, int rank, Object buffer);

    /** @return how long blocking calls wait for peers before failing */
    default long blockingTimeoutNanos() {
        return TimeUnit.SECONDS.toNanos(60);
    }

    /** Blocking allreduce; returns a new array. */
    default Object allreduce(int rank, Object buffer, ReduceOp op) {
        return await(start(CollectiveKind.ALLREDUCE, op, rank, buffer), rank);
    }

    /** Blocking in-place allreduce: {@code buffer} holds the reduction on return. */
    default void allreduceInPlace(int rank, Object buffer, ReduceOp op) {
        await(startInPlace(op, rank, buffer), rank);
    }

    /** Blocking allgather; returns a new array of {@code worldSize} times the length. */
    default Object allgather(int rank, Object buffer) {
        return await(start(CollectiveKind.ALLGATHER, ReduceOp.SUM, rank, buffer), rank);
    }

    /** Blocking reduce-scatter; returns this rank's chunk as a new array. */
    default Object reducescatter(int rank, Object buffer, ReduceOp op) {
        return await(start(CollectiveKind.REDUCESCATTER, op, rank, buffer), rank);
    }

    /**
     * Waits for a handle: spins briefly, then yields, then parks in short periods.
     *
     * @throws CollectiveException on timeout or when a rank contributed a throwable
     */
    default Object await(CollectiveHandle h, int rank) {
        long deadline = System.nanoTime() + blockingTimeoutNanos();
        int tries = 0;
        while (!h.poll()) {
            tries++;
            if (tries < 1_000) {
                Thread.onSpinWait();
            } else if (tries < 1_200) {
                Thread.yield();
            } else {
                if (System.nanoTime() > deadline) {
                    throw new CollectiveException("communicator '" + name() + "' rank " + rank
                            + ": peers did not arrive within " + TimeUnit.NANOSECONDS.toMillis(blockingTimeoutNanos())
                            + " ms; every rank must call the same collectives in the same order");
                }
                LockSupport.parkNanos(50_000);
            }
        }
        Object r = h.result();
        if (r instanceof Throwable) {
            throw new CollectiveException("communicator '" + name() + "': a rank contributed a failure", (Throwable) r);
        }
        return r;
    }

    @Override
    void close();
}
