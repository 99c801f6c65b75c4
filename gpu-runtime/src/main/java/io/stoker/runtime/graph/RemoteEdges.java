package io.stoker.runtime.graph;

import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.channel.ActorLocation;
import io.stoker.runtime.channel.GpuChannelKind;
import io.stoker.runtime.channel.GpuChannelPlanner;
import io.stoker.runtime.comm.NcclCommunicator;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The compiler's half-edges that cross processes ({@link GraphBuilder#sendTo}, {@link GraphBuilder#receiveFrom}):
 * checks each against where its peer lives and sets up its end on its actor's thread. Loaded only when a graph has
 * such a node, so other graphs never load the CUDA classes behind it.
 */
final class RemoteEdges {
    private RemoteEdges() {
    }

    /**
     * Picks the kind: NCCL when the edge names a communicator ({@link RemoteEdge#withNccl}), else from the two
     * locations: CUDA IPC for another process on this host; another host needs a communicator.
     *
     * @throws GraphValidationException naming the node, the edge and what to do instead
     */
    static void check(String graphName, Node<?> n, ActorHandle<?> actor) {
        RemoteEdge e = n.remoteEdge;
        String where = "graph '" + graphName + "': " + n + " (cross-process edge '" + e.name() + "')";
        if (actor.gpuIds().isEmpty()) {
            throw new GraphValidationException(where + " runs on actor '" + actor.name() + "', which has no GPU; a"
                    + " cross-process edge carries device memory between GPU actors: create it with"
                    + " ActorSpec.withGpus(1) on CudaActors.onDevice");
        }
        if (e.nccl() != null) {
            checkNccl(where, e, actor);
            return;
        }
        ActorLocation here = GpuChannels.location(actor);
        ActorLocation writer = n.remoteSends ? here : e.peer();
        ActorLocation reader = n.remoteSends ? e.peer() : here;
        GpuChannelKind k = GpuChannelPlanner.choose(writer, reader);
        if (k == GpuChannelKind.NCCL) {
            throw new GraphValidationException(where + " connects host '" + writer.host() + "' to host '"
                    + reader.host() + "': an edge between hosts goes by NCCL send/recv; give both halves an NCCL"
                    + " communicator spanning the two processes and the peer's rank in it with"
                    + " RemoteEdge.withNccl(NcclCommunicator.spanning(...), peerRank)");
        }
        if (k != GpuChannelKind.CUDA_IPC) {
            throw new GraphValidationException(where + " names a peer in this process (pid " + e.peer().process()
                    + "); within one process use a normal edge: bind the reading task to the value (with"
                    + " withTensorTransport(TensorTransport.AUTO) for device memory)");
        }
    }

    private static void checkNccl(String where, RemoteEdge e, ActorHandle<?> actor) {
        if (!(e.nccl() instanceof NcclCommunicator c)) {
            throw new GraphValidationException(where + " travels by NCCL over '" + e.nccl().name() + "', which is a "
                    + e.nccl().getClass().getSimpleName() + "; use an NcclCommunicator (NcclCommunicator.spanning)");
        }
        if (c.rankOf(actor) < 0) {
            throw new GraphValidationException(where + " runs on actor '" + actor.name() + "', which is not one of"
                    + " communicator '" + c.name() + "''s ranks in this process");
        }
        int peer = e.ncclPeerRank();
        if (peer >= c.groupSize() || (peer >= c.firstRank() && peer < c.firstRank() + c.worldSize())) {
            throw new GraphValidationException(where + ": peer NCCL rank " + peer + " is not a rank of another process"
                    + " in communicator '" + c.name() + "' (group ranks 0.." + (c.groupSize() - 1) + ", this process "
                    + c.firstRank() + ".." + (c.firstRank() + c.worldSize() - 1) + ")");
        }
    }

    /**
     * Sets up every end: receiving ends first (each creates its slots and publishes them), then sending ends (each
     * waits, on this thread, up to its edge's timeout for its receiver's rendezvous file, then maps the slots on its
     * actor's thread). On failure releases what was set up and throws.
     */
    static Map<Node<?>, RemoteEnd> setUp(String graphName, List<Node<?>> remote,
                                         Map<Node<?>, ActorHandle<?>> placement) {
        Map<Node<?>, RemoteEnd> ends = new IdentityHashMap<>();
        List<Node<?>> ordered = new ArrayList<>();
        remote.stream().filter(n -> !n.remoteSends).forEach(ordered::add);
        remote.stream().filter(n -> n.remoteSends).forEach(ordered::add);
        try {
            for (Node<?> n : ordered) {
                RemoteEdge e = n.remoteEdge;
                ActorHandle<?> actor = placement.get(n);
                long timeoutMs = Math.max(1, e.timeout().toMillis());
                RemoteEnd end;
                if (e.nccl() != null) {
                    NcclCommunicator c = (NcclCommunicator) e.nccl();
                    int rank = c.rankOf(actor);
                    end = n.remoteSends ? new RemoteNcclSendEnd(e, c, rank) : new RemoteNcclReceiveEnd(e, c, rank);
                } else if (n.remoteSends) {
                    long deadline = System.nanoTime() + e.timeout().toNanos();
                    Path file = EdgeRendezvous.file(e, ProcessHandle.current().pid(), e.peer().process());
                    Path[] rings = EdgeRendezvous.await(file, e.name(), new PeerProcess(e.peer().process()), deadline);
                    if (rings == null) {
                        throw new IllegalStateException("no receiving end appeared within " + timeoutMs + " ms (no "
                                + file + "); compile the graph with receiveFrom(..., edge '" + e.name()
                                + "') in process " + e.peer().process() + " first, or raise RemoteEdge.withTimeout");
                    }
                    long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
                    end = onThread(actor, () -> RemoteSendEnd.open(e, rings[0], rings[1], left), timeoutMs);
                } else {
                    end = onThread(actor, () -> RemoteReceiveEnd.create(e), timeoutMs);
                }
                ends.put(n, end);
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            release(ends, placement);
            throw new GraphException("graph '" + graphName + "': interrupted while connecting cross-process edges", ex);
        } catch (RuntimeException ex) {
            release(ends, placement);
            Node<?> n = ordered.get(ends.size());
            throw new GraphException("graph '" + graphName + "': " + n + " (cross-process edge '"
                    + n.remoteEdge.name() + "'): " + ex.getMessage(), ex);
        }
        return ends;
    }

    /** Releases ends set up by {@link #setUp}, each on its actor's thread (a compile that failed after set-up). */
    static void release(Map<Node<?>, RemoteEnd> ends, Map<Node<?>, ActorHandle<?>> placement) {
        for (Map.Entry<Node<?>, RemoteEnd> en : ends.entrySet()) {
            try {
                onThread(placement.get(en.getKey()), () -> {
                    en.getValue().release();
                    return null;
                }, 30_000);
            } catch (RuntimeException | InterruptedException ignored) {
                // the actor is gone: its device, and what the end held on it, went with it
            }
        }
    }

    private static <A, R> R onThread(ActorHandle<A> actor, Supplier<R> body, long timeoutMs)
            throws InterruptedException {
        CompletableFuture<R> f = actor.call(a -> body.get());
        try {
            return f.get(timeoutMs + 5_000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof RuntimeException r ? r : new IllegalStateException(String.valueOf(c), c);
        } catch (TimeoutException e) {
            throw new IllegalStateException("actor '" + actor.name() + "' did not run the set-up within "
                    + (timeoutMs + 5_000) + " ms (busy with: another task?)");
        }
    }
}
