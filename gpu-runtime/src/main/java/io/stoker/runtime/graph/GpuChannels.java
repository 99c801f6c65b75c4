package io.stoker.runtime.graph;

import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.channel.ActorLocation;
import io.stoker.runtime.channel.Channel;
import io.stoker.runtime.channel.GpuChannelKind;
import io.stoker.runtime.channel.GpuChannelPlanner;
import io.stoker.runtime.channel.PeerCopyChannel;
import io.stoker.runtime.comm.Communicator;
import io.stoker.runtime.comm.NcclChannel;
import io.stoker.runtime.comm.NcclCommunicator;

/**
 * The compiler's GPU channel placement: checks a tensor-transport edge and builds its channel, picking the kind from
 * where the two actors live. Loaded only when a graph has such an edge, so graphs without GPU edges never load the
 * CUDA classes behind it.
 */
final class GpuChannels {
    private GpuChannels() {
    }

    /** @return where an actor of this runtime lives (its first GPU, or none) */
    static ActorLocation location(ActorHandle<?> a) {
        return ActorLocation.local(a.gpuIds().isEmpty() ? null : a.gpuIds().get(0));
    }

    /**
     * Checks the edge {@code from -> to} of node {@code n} and returns the kind it will get.
     *
     * @throws GraphValidationException naming the node, the actors and what to change
     */
    static GpuChannelKind check(String graphName, Node<?> n, ActorHandle<?> writer, ActorHandle<?> reader) {
        if (writer == reader) {
            return GpuChannelKind.HAND_OVER;
        }
        Communicator comm = n.transport.communicator();
        if (comm != null) {
            if (!(comm instanceof NcclCommunicator)) {
                throw new GraphValidationException("graph '" + graphName + "': " + n + " travels by NCCL over '"
                        + comm.name() + "', which is a " + comm.getClass().getSimpleName() + "; use an NcclCommunicator");
            }
            for (ActorHandle<?> a : new ActorHandle<?>[] {writer, reader}) {
                if (comm.rankOf(a) < 0) {
                    throw new GraphValidationException("graph '" + graphName + "': " + n + " travels by NCCL over '"
                            + comm.name() + "', but actor '" + a.name() + "' is not one of its members");
                }
            }
            return GpuChannelKind.NCCL;
        }
        for (ActorHandle<?> a : new ActorHandle<?>[] {writer, reader}) {
            if (a.gpuIds().isEmpty()) {
                throw new GraphValidationException("graph '" + graphName + "': " + n + " travels as device memory from"
                        + " actor '" + writer.name() + "' to actor '" + reader.name() + "', but '" + a.name()
                        + "' has no GPU; create it with ActorSpec.withGpus(1) or drop the tensor transport");
            }
        }
        GpuChannelKind k = GpuChannelPlanner.choose(location(writer), location(reader));
        if (k != GpuChannelKind.PEER_COPY) {
            throw new GraphValidationException("graph '" + graphName + "': " + n + " from actor '" + writer.name()
                    + "' to actor '" + reader.name() + "' would need a " + k.label() + " channel, which graphs of"
                    + " one runtime do not build (both actors share GPU " + writer.gpuIds().get(0) + ")");
        }
        return k;
    }

    static Channel<Object> create(String label, Node<?> n, GpuChannelKind kind, ActorHandle<?> writer,
                                  ActorHandle<?> reader, int capacity, Runnable wakeReader) {
        if (kind == GpuChannelKind.NCCL) {
            NcclCommunicator comm = (NcclCommunicator) n.transport.communicator();
            return new NcclChannel(label, comm, comm.rankOf(writer), comm.rankOf(reader), capacity, wakeReader);
        }
        return new PeerCopyChannel(label, capacity, wakeReader);
    }
}
