package io.stoker.runtime.graph;

import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.channel.ActorLocation;
import io.stoker.runtime.comm.FileNcclIds;
import io.stoker.runtime.comm.NcclCommunicator;
import io.stoker.runtime.cuda.CudaActors;
import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaDeviceConfig;
import io.stoker.runtime.cuda.DeviceArray;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The sending process of {@link RemoteEdgeGraphTest}: compiles {@code input -> gpu.make -> sendTo(edge)} on its own
 * runtime (simulated GPU 0) and executes it for x = 0..count-1; array x holds {@code x * 1000 + i + 0.5} for
 * {@code i < elements}. Prints {@code SENT x <bytes>} per execution (or {@code FAILED x: <message>} and stops sending),
 * then {@code DONE <total bytes>}. With mode
 * {@code exit} it then closes the graph and exits; with {@code linger} it keeps the graph open until killed.
 *
 * <p>Arguments: edge name, rendezvous directory, the receiving process's pid, count, elements, mode, and optionally
 * {@code nccl}: then the edge goes over NCCL as if the receiver were on another host (rank 0 of a two-rank
 * {@link NcclCommunicator#spanning spanning} communicator whose id is exchanged through files in the rendezvous
 * directory; the receiver is rank 1).
 */
public final class RemoteEdgeSenderMain {
    private RemoteEdgeSenderMain() {
    }

    /** A GPU actor that makes the arrays to send. */
    static final class Maker {
        private final CudaDevice device;
        private final int elements;

        Maker(CudaDevice device, int elements) {
            this.device = device;
            this.elements = elements;
        }

        Boolean join(NcclCommunicator comm) {
            comm.join(0, device);
            return true;
        }

        Boolean leave(NcclCommunicator comm) {
            comm.leave(0);
            return true;
        }

        DeviceArray make(Integer x) {
            float[] v = new float[elements];
            for (int i = 0; i < elements; i++) {
                v[i] = x * 1000 + i + 0.5f;
            }
            return DeviceArray.of(device, v, "made" + x);
        }
    }

    public static void main(String[] args) throws Exception {
        String name = args[0];
        Path dir = Path.of(args[1]);
        long readerPid = Long.parseLong(args[2]);
        int count = Integer.parseInt(args[3]);
        int elements = Integer.parseInt(args[4]);
        boolean linger = args[5].equals("linger");
        boolean nccl = args.length > 6 && args[6].equals("nccl");
        String readerHost = nccl ? "receiver-host" : ActorLocation.local("0").host();
        RemoteEdge edge = RemoteEdge.of(name, new ActorLocation(readerHost, readerPid, "1"))
                .withDirectory(dir).withSlots(2).withSlotBytes(elements * 4L).withTimeout(Duration.ofSeconds(60));
        CudaDeviceConfig config = new CudaDeviceConfig(64L << 20, 0.9, null, 1L << 20);
        try (StokerRuntime rt = StokerRuntime.create(RuntimeConfig.defaults().withName("sender")
                .withGpuIds(List.of("0")))) {
            ActorHandle<Maker> gpu = rt.createActor(ActorSpec.of("gpu", CudaActors.onDevice(config,
                    (ctx, d) -> new Maker(d, elements))).withGpus(1));
            NcclCommunicator comm = null;
            if (nccl) {
                comm = NcclCommunicator.spanning("edge-" + name, "edge-" + name, 2, 0, List.of(gpu),
                        new FileNcclIds(dir), 60, TimeUnit.SECONDS);
                NcclCommunicator c = comm;
                gpu.call(m -> m.join(c)).get(60, TimeUnit.SECONDS);
                edge = edge.withNccl(comm, 1);
            }
            GraphBuilder g = GraphBuilder.on(rt, "sender");
            InputNode<Integer> in = g.input();
            Node<Long> sent = g.sendTo(g.bind(gpu, Maker::make, in), edge);
            CompiledGraph<Integer, Long> cg = g.compile(sent);
            long total = 0;
            for (int x = 0; x < count; x++) {
                long bytes;
                try {
                    bytes = cg.execute(x).get(60, TimeUnit.SECONDS);
                } catch (ExecutionFailedException e) {
                    System.out.println("FAILED " + x + ": " + e.getMessage());
                    break;
                }
                total += bytes;
                System.out.println("SENT " + x + " " + bytes);
            }
            System.out.println("DONE " + total);
            System.out.flush();
            if (linger) {
                Thread.sleep(120_000);
            }
            cg.close();
            if (comm != null) {
                NcclCommunicator c = comm;
                gpu.call(m -> m.leave(c)).get(60, TimeUnit.SECONDS);
                comm.close();
            }
        }
    }
}
