package io.stoker.runtime.graph;

import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.channel.ActorLocation;
import io.stoker.runtime.channel.ChildJvm;
import io.stoker.runtime.comm.CpuCommunicator;
import io.stoker.runtime.comm.FileNcclIds;
import io.stoker.runtime.comm.NcclCommunicator;
import io.stoker.runtime.cuda.CudaActors;
import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaTestSupport;
import io.stoker.runtime.cuda.DeviceArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A graph edge between processes on different hosts goes over NCCL send/recv, on the CUDA simulator: a second real
 * JVM ({@link RemoteEdgeSenderMain} in {@code nccl} mode) compiles {@code sendTo} as rank 0 of a two-rank
 * {@link NcclCommunicator#spanning spanning} communicator and names this process as being on another host; this JVM
 * compiles {@code receiveFrom} as rank 1 (simulated NCCL across processes moves the data through shared memory, the
 * test double for NCCL's network transport). Without a communicator the same edge is refused at compile.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RemoteEdgeNcclTest {
    private static final int ELEMENTS = 1500;

    /** The receiving GPU actor: joins the communicator and brings arrays back to the host; closes its device. */
    static final class Sink implements AutoCloseable {
        private final CudaDevice device;

        Sink(CudaDevice device) {
            this.device = device;
        }

        Boolean join(NcclCommunicator c) {
            c.join(0, device);
            return true;
        }

        Boolean leave(NcclCommunicator c) {
            c.leave(0);
            return true;
        }

        float[] toHost(DeviceArray a) {
            try (a) {
                return a.toFloats();
            }
        }

        Integer liveBuffers() {
            return device.memory().liveBuffers();
        }

        @Override
        public void close() {
            device.close(); // releases the simulated device's context for the tests that use device 1 after this one
        }
    }

    @TempDir
    Path tmp;
    private StokerRuntime rt;
    private ActorHandle<Sink> sink;
    private Process sender;

    @BeforeEach
    void setUp() {
        CudaTestSupport.assumeSimulator();
        rt = StokerRuntime.create(RuntimeConfig.defaults().withName("nccl-receiver").withGpuIds(List.of("1")));
        sink = rt.createActor(ActorSpec.of("sink",
                CudaActors.onDevice(CudaTestSupport.config(), (ctx, d) -> new Sink(d))).withGpus(1));
    }

    @AfterEach
    void tearDown() {
        if (sender != null) {
            sender.destroyForcibly();
        }
        if (rt != null) {
            rt.close();
        }
    }

    private CompiledGraph<Integer, float[]> receiver(RemoteEdge edge) {
        GraphBuilder g = GraphBuilder.on(rt, "nccl-receiver");
        g.<Integer>input();
        return g.compile(g.bind(sink, Sink::toHost, g.receiveFrom(sink, edge)));
    }

    @Test
    void shouldCarryArraysFromAProcessOnAnotherHostOverNcclInExecutionOrder() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("ids"));
        sender = ChildJvm.start(RemoteEdgeSenderMain.class, tmp.resolve("sender.log"), "hosts", dir.toString(),
                Long.toString(ProcessHandle.current().pid()), "12", Integer.toString(ELEMENTS), "exit", "nccl");
        NcclCommunicator comm = NcclCommunicator.spanning("edge-hosts", "edge-hosts", 2, 1, List.of(sink),
                new FileNcclIds(dir), 60, TimeUnit.SECONDS);
        try {
            sink.call(s -> s.join(comm)).get(60, TimeUnit.SECONDS);
            RemoteEdge edge = RemoteEdge.of("hosts", new ActorLocation("sender-host", sender.pid(), "0"))
                    .withNccl(comm, 0);
            try (CompiledGraph<Integer, float[]> cg = receiver(edge)) {
                assertThat(cg.scheduleToDot()).contains("receiveFrom[hosts]");
                for (int x = 0; x < 12; x++) {
                    float[] v = cg.execute(x).get(60, TimeUnit.SECONDS);
                    assertThat(v).as("array of execution %d", x).hasSize(ELEMENTS);
                    for (int i = 0; i < ELEMENTS; i++) {
                        if (v[i] != x * 1000 + i + 0.5f) {
                            assertThat(v[i]).as("execution %d element %d", x, i).isEqualTo(x * 1000 + i + 0.5f);
                        }
                    }
                }
            }
            assertThat(sender.waitFor(60, TimeUnit.SECONDS)).as("the sender exits").isTrue();
            String log = Files.readString(tmp.resolve("sender.log"));
            assertThat(log).contains("SENT 11 " + ELEMENTS * 4).contains("DONE " + 12L * ELEMENTS * 4)
                    .doesNotContain("FAILED");
            assertThat(sender.exitValue()).as("sender exit code; its log:\n%s", log).isZero();
            assertThat(sink.call(Sink::liveBuffers).get(10, TimeUnit.SECONDS)).as("buffers left on the receiver")
                    .isZero();
        } finally {
            sink.call(s -> s.leave(comm)).get(60, TimeUnit.SECONDS);
            comm.close();
        }
    }

    @Test
    void shouldRefuseAnEdgeBetweenHostsWithoutAnNcclCommunicatorOrWithAWrongOne() {
        RemoteEdge noComm = RemoteEdge.of("far", new ActorLocation("elsewhere", 4242, "0"));
        assertThatThrownBy(() -> receiver(noComm)).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("an edge between hosts goes by NCCL send/recv")
                .hasMessageContaining("RemoteEdge.withNccl(NcclCommunicator.spanning(...), peerRank)");
        CpuCommunicator cpu = CpuCommunicator.create("cpu", List.of(sink));
        assertThatThrownBy(() -> receiver(noComm.withNccl(cpu, 0))).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("travels by NCCL over 'cpu', which is a CpuCommunicator");
    }
}
