package io.stoker.runtime.internal;

import io.stoker.runtime.comm.CollectiveHandle;
import io.stoker.runtime.comm.CollectiveKind;
import io.stoker.runtime.comm.ReduceOp;

/**
 * A communicator that keeps a separate sequence space per compiled graph, so graphs sharing it never pair their
 * collectives. A communicator without it can serve the collective nodes of one graph at a time (compile refuses a
 * second).
 */
public interface ScopedCommunicator {
    /**
     * Starts this rank's part of the collective node {@code key} of execution {@code execution} of graph
     * {@code scope}, without blocking. Calls of different scopes never meet; within a scope they meet by
     * (execution, key), whatever order the ranks reach them in.
     *
     * @param buffer the rank's contribution, or a {@link Throwable} (a failed input), which every rank then receives
     */
    CollectiveHandle startScoped(GraphScope scope, long execution, int key, CollectiveKind kind, ReduceOp op, int rank,
                                 Object buffer);
}
