package io.stoker.runtime.comm;

import io.stoker.runtime.WaitPolicy;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.channel.StokerIdleStrategy;
import io.stoker.runtime.internal.ActorThread;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Collective communication among a fixed group of actors, one rank each (rank = position in {@link #members()}).
 *
 * <p>Buffers are primitive arrays ({@code float[]}, {@code double[]}, {@code int[]}, {@code long[]}); a GPU
 * implementation (NCCL) takes device buffers through the same calls. Compiled graphs use {@link #start}
 * (non-blocking, so an actor can interleave other graphs); actor methods may use the blocking forms.
 *
 * <p><b>How calls are matched</b> (the ordering contract; {@link CpuCommunicator} implements all of it):
 * <ul>
 *   <li>Collective <em>nodes</em> of a compiled graph ({@code GraphBuilder.allreduce} ...) are matched per graph and
 *       per execution: node k of execution e of graph G on one rank meets node k of execution e of G on every other
 *       rank. Graphs that share actors and a communicator never pair with each other, in whatever order their
 *       executions reach the ranks.</li>
 *   <li>Blocking calls made <em>inside a method run by a graph task</em> are matched per graph and per execution
 *       too: the i-th call a rank makes during execution e of graph G meets the i-th call of every other rank during
 *       execution e of G. Every rank's tasks must therefore make the same calls in the same order within an
 *       execution; calls of other graphs, and of eager calls, never interfere.</li>
 *   <li>Anywhere else (eager calls, plain threads) calls are matched by their order per rank: every rank must make
 *       the same calls in the same order.</li>
 * </ul>
 * A call whose buffer is invalid (null, the wrong type) still takes its place: the collective fails on every rank
 * with a message naming the rank and the problem, and the ranks stay in step. A rank may also contribute a
 * {@link Throwable} instead of a buffer (a failed upstream task): every rank then receives that throwable as its
 * result. Calls that do not match (kind, reduction, type, length) fail on every rank with both calls named. Inside a
 * graph, a rank that will never make a call (its task failed before it, it finished the execution without it, or
 * its actor died) fails that call on every other rank at once instead of leaving them waiting.
 *
 * <p>A blocking call holds its actor's thread. If two graphs share actors and call blocking collectives inside their
 * methods, one rank may block in graph A's call while another blocks in graph B's, each waiting for the other: both
 * threads are held, so neither call can complete. {@link CpuCommunicator} detects that circular wait and fails one
 * of the two calls (the later-compiled graph's) on every rank; to avoid it, let one graph's execution finish before
 * starting the other's on the same actors, or use collective nodes, which never hold the thread.
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
     * @param buffer  the rank's contribution, not modified (or a {@link Throwable}: see the class comment)
     * @return a handle to poll
     */
    CollectiveHandle start(CollectiveKind kind, ReduceOp op, int rank, Object buffer);

    /** Like {@link #start}, but the result is written back into {@code buffer} (allreduce only). */
    CollectiveHandle startInPlace(ReduceOp op, int rank, Object buffer);

    /**
     * @return true when a collective <em>node</em> of a compiled graph takes ownership of its input (device memory it
     * reuses or frees), so that input must feed nothing else; compile checks it. Blocking calls never take ownership.
     */
    default boolean consumesNodeInputs() {
        return false;
    }

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
     * Waits for a handle, idling through the calling actor's {@link WaitPolicy} (the runtime default on other
     * threads).
     *
     * @throws CollectiveException on timeout, on interruption, or when a rank contributed a throwable
     */
    default Object await(CollectiveHandle h, int rank) {
        long deadline = System.nanoTime() + blockingTimeoutNanos();
        ActorThread t = ActorThread.current();
        StokerIdleStrategy idle = (t != null ? t.waitPolicy() : WaitPolicy.defaults()).newIdleStrategy();
        int polls = 0;
        while (!h.poll()) {
            if ((++polls & 0xFF) == 0) {
                if (Thread.currentThread().isInterrupted()) {
                    throw new CollectiveException("communicator '" + name() + "' rank " + rank
                            + ": interrupted while waiting for peers");
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new CollectiveException("communicator '" + name() + "' rank " + rank
                            + ": peers did not arrive within " + TimeUnit.NANOSECONDS.toMillis(blockingTimeoutNanos())
                            + " ms; every rank must call the same collectives in the same order");
                }
            }
            idle.idle();
        }
        Object r = h.result();
        if (r instanceof Throwable) {
            throw new CollectiveException("communicator '" + name() + "': " + ((Throwable) r).getMessage(),
                    (Throwable) r);
        }
        return r;
    }

    @Override
    void close();
}
