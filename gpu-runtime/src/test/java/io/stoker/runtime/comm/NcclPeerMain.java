package io.stoker.runtime.comm;

import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.cuda.CudaActors;
import io.stoker.runtime.cuda.CudaDataType;
import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaTestSupport;
import io.stoker.runtime.cuda.DeviceArray;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Child process of {@link NcclProcessesTest}: holds one rank (its own GPU actor on simulated device {@code rank}) of a
 * two-rank {@link NcclCommunicator#spanning spanning} communicator whose other rank is another JVM, gets the id
 * through {@link FileNcclIds} in {@code dir}, runs scenario {@code mode} and prints one line per result
 * ({@code NAME v1,v2,...}) or {@code FAILED <message>}. Arguments: dir rank mode.
 */
public final class NcclPeerMain {
    private NcclPeerMain() {
    }

    /** The rank's actor. */
    static final class Peer {
        final int rank;
        final CudaDevice device;
        final Path dir;
        NcclCommunicator comm;

        Peer(int rank, CudaDevice device, Path dir) {
            this.rank = rank;
            this.device = device;
            this.dir = dir;
        }

        Boolean join(NcclCommunicator c) {
            comm = c;
            c.join(0, device); // the only local rank
            return true;
        }

        String run(String mode) throws InterruptedException {
            StringBuilder out = new StringBuilder();
            try {
                switch (mode) {
                    case "ops" -> ops(out);
                    case "mismatch" -> line(out, "allreduce-or-allgather", rank == 0
                            ? (DeviceArray) comm.allreduce(0, of(1, 2, 3), ReduceOp.SUM)
                            : (DeviceArray) comm.allgather(0, of(1, 2, 3)));
                    case "crossed" -> {
                        if (rank == 0) {
                            try (DeviceArray a = of(1, 2, 3)) {
                                comm.sendTo(0, a, 1);
                                a.toFloats(); // waits for the send
                            }
                            out.append("SENT\n");
                        } else {
                            line(out, "allreduce", (DeviceArray) comm.allreduce(0, of(1, 2, 3), ReduceOp.SUM));
                        }
                    }
                    case "absent" -> {
                        if (rank == 0) {
                            line(out, "allreduce", (DeviceArray) comm.allreduce(0, of(1, 2, 3), ReduceOp.SUM));
                        } else {
                            // joined, but makes no call until the test has seen rank 0 fail
                            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                            while (!Files.exists(dir.resolve("release")) && System.nanoTime() < deadline) {
                                Thread.sleep(20);
                            }
                            out.append("IDLE\n");
                        }
                    }
                    default -> throw new IllegalArgumentException("mode " + mode);
                }
            } catch (RuntimeException e) {
                out.append("FAILED ").append(e.getMessage().replace('\n', ' ')).append('\n');
            }
            return out.toString();
        }

        private void ops(StringBuilder out) {
            int r = rank;
            line(out, "allreduce", (DeviceArray) comm.allreduce(0, of(r + 1, 10 * (r + 1), 100, -r), ReduceOp.SUM));
            line(out, "max", (DeviceArray) comm.allreduce(0, of(r + 1, -10 * r), ReduceOp.MAX));
            line(out, "allgather", (DeviceArray) comm.allgather(0, of(r + 1, 10 * (r + 1))));
            line(out, "reducescatter", (DeviceArray) comm.reducescatter(0, of(1 + r, 2 + r, 3 + r, 4 + r),
                    ReduceOp.SUM));
            try (DeviceArray a = of(1000 * r + 7, 1000 * r + 8, 1000 * r + 9)) {
                if (r == 0) { // rank 0 sends first, rank 1 receives first: each call blocks until its peer's arrives
                    comm.sendTo(0, a, 1);
                    line(out, "recv", comm.recvFrom(0, 1, CudaDataType.F32, 3));
                } else {
                    line(out, "recv", comm.recvFrom(0, 0, CudaDataType.F32, 3));
                    comm.sendTo(0, a, 0);
                }
                a.toFloats(); // the send has completed
            }
            try (DeviceArray a = of(r, r)) {
                comm.allreduceInPlace(0, a, ReduceOp.SUM);
                line(out, "inplace", a);
            }
        }

        private DeviceArray of(float... v) {
            return DeviceArray.of(device, v, "in");
        }

        private static void line(StringBuilder out, String name, DeviceArray a) {
            try (a) {
                float[] v = a.toFloats();
                StringBuilder b = new StringBuilder(name).append(' ');
                for (int i = 0; i < v.length; i++) {
                    b.append(i == 0 ? "" : ",").append(v[i]);
                }
                out.append(b).append('\n');
            }
        }

        Boolean leave() {
            comm.leave(0);
            return true;
        }
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int rank = Integer.parseInt(args[1]);
        String mode = args[2];
        StokerRuntime rt = StokerRuntime.create(RuntimeConfig.defaults().withName("nccl-peer-" + rank)
                .withGpuIds(List.of(Integer.toString(rank))));
        ActorHandle<Peer> a = rt.createActor(ActorSpec.of("gpu" + rank, CudaActors.onDevice(CudaTestSupport.config(),
                (ctx, dev) -> new Peer(rank, dev, dir))).withGpus(1));
        NcclCommunicator comm = NcclCommunicator.spanning("xjvm", "pair-" + mode, 2, rank, List.of(a),
                new FileNcclIds(dir), 30, TimeUnit.SECONDS);
        System.out.println("STARTED rank " + rank);
        System.out.flush();
        a.call(Peer::join, comm).get(60, TimeUnit.SECONDS);
        System.out.println("JOINED rank " + rank + " of " + comm.groupSize() + " " + comm);
        String result = a.call(Peer::run, mode).get(60, TimeUnit.SECONDS);
        System.out.print(result);
        System.out.flush();
        if (result.contains("FAILED")) {
            Runtime.getRuntime().halt(0); // the device holds a sticky error: nothing to clean up on a real GPU either
        }
        a.call(Peer::leave).get(60, TimeUnit.SECONDS);
        comm.close();
        rt.close();
        System.out.println("DONE " + Arrays.toString(args));
    }
}
