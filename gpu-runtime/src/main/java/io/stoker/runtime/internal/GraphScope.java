package io.stoker.runtime.internal;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The identity of one compiled graph for the collectives it makes: calls of different scopes are never matched with
 * each other. Holds each actor's {@link ActorProgress} in this graph, so a communicator can tell that a rank will
 * never make a call (its task failed, or it finished the execution without it).
 *
 * <p>Thread-safety: immutable apart from the close hooks, which are thread-safe.
 */
public final class GraphScope {
    private static final AtomicLong IDS = new AtomicLong();

    private final long id = IDS.incrementAndGet();
    private final String graphName;
    private final Map<Long, ActorProgress> progressByActor;
    private final List<Runnable> closeHooks = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    /** @param progressByActor each actor of the graph (by actor id) and its progress */
    public GraphScope(String graphName, Map<Long, ActorProgress> progressByActor) {
        this.graphName = graphName;
        this.progressByActor = Map.copyOf(progressByActor);
    }

    /** @return a number unique in this JVM; a scope created later has a larger id */
    public long id() {
        return id;
    }

    public String graphName() {
        return graphName;
    }

    /** @return the progress of the actor with this id in this graph, or null when the graph has no task on it */
    public ActorProgress progressOf(long actorId) {
        return progressByActor.get(actorId);
    }

    public boolean isClosed() {
        return closed;
    }

    /** Runs {@code hook} when the graph closes (at once if it already has). */
    public void onClose(Runnable hook) {
        closeHooks.add(hook);
        if (closed && closeHooks.remove(hook)) {
            hook.run();
        }
    }

    /** Marks the graph closed and runs the close hooks once. */
    public void close() {
        closed = true;
        for (Runnable r : closeHooks) {
            if (closeHooks.remove(r)) {
                r.run();
            }
        }
    }

    @Override
    public String toString() {
        return "graph '" + graphName + "'";
    }
}
