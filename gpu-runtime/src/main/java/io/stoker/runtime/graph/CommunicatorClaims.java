package io.stoker.runtime.graph;

import io.stoker.runtime.comm.Communicator;
import io.stoker.runtime.internal.ScopedCommunicator;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Keeps graphs from sharing a communicator that cannot tell their collectives apart. A {@link ScopedCommunicator}
 * (such as {@code CpuCommunicator}) matches calls per graph, so any number of graphs may use it; any other
 * communicator serves the collective nodes of one live graph at a time, and compiling a second one fails.
 */
final class CommunicatorClaims {
    private static final Map<Communicator, String> OWNERS = new IdentityHashMap<>();

    private CommunicatorClaims() {
    }

    /**
     * Claims every non-scoped communicator used by the collective nodes among {@code tasks} for {@code graphName}.
     *
     * @return the releases to run when the graph closes
     * @throws GraphValidationException when another live graph holds one of them
     */
    static List<Runnable> claim(String graphName, List<Node<?>> tasks) {
        List<Communicator> wanted = new ArrayList<>();
        for (Node<?> t : tasks) {
            if (t.collective != null && !(t.collective.communicator instanceof ScopedCommunicator)
                    && !containsSame(wanted, t.collective.communicator)) {
                wanted.add(t.collective.communicator);
            }
        }
        List<Runnable> releases = new ArrayList<>();
        synchronized (OWNERS) {
            for (Communicator c : wanted) {
                String owner = OWNERS.get(c);
                if (owner != null) {
                    throw new GraphValidationException("graph '" + graphName + "': communicator '" + c.name()
                            + "' is already used by the collective nodes of graph '" + owner + "', and it keeps one"
                            + " sequence space for all its callers, so the two graphs' collectives would be paired"
                            + " with each other. Close graph '" + owner + "' first, give this graph its own"
                            + " communicator, or use one that separates graphs (CpuCommunicator does)");
                }
            }
            for (Communicator c : wanted) {
                OWNERS.put(c, graphName);
                releases.add(() -> {
                    synchronized (OWNERS) {
                        OWNERS.remove(c, graphName);
                    }
                });
            }
        }
        return releases;
    }

    private static boolean containsSame(List<Communicator> list, Communicator c) {
        for (Communicator x : list) {
            if (x == c) {
                return true;
            }
        }
        return false;
    }
}
