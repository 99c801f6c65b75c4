package io.stoker.runtime.graph;

import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.channel.ActorLocation;
import io.stoker.runtime.channel.ChildJvm;
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
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Graph edges that cross processes, on the CUDA simulator: this JVM compiles the receiving half
 * ({@code receiveFrom}), a second real JVM ({@link RemoteEdgeSenderMain}) the sending half ({@code sendTo}); they
 * meet over CUDA IPC (device memory shared through {@code /dev/shm}-like files on the simulator).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RemoteEdgeGraphTest {
    private static final int ELEMENTS = 2000;

    /** A GPU actor that brings arrays that arrived back to the host (and frees them). */
    static final class Sink implements AutoCloseable {
        private final CudaDevice device;

        Sink(CudaDevice device) {
            this.device = device;
        }

        float[] toHost(DeviceArray a) {
            try (a) {
                if (a.device() != device) {
                    throw new IllegalStateException("array on another device reached the sink");
                }
                return a.toFloats();
            }
        }

        DeviceArray make(Integer x) {
            return DeviceArray.of(device, new float[] {x}, "local");
        }

        Integer liveBuffers() {
            return device.memory().liveBuffers();
        }

        @Override
        public void close() {
            device.close();
        }
    }

    @TempDir
    Path tmp;
    private Path shm;
    private StokerRuntime rt;
    private ActorHandle<Sink> sink;
    private Process sender;

    @BeforeEach
    void setUp() throws Exception {
        CudaTestSupport.assumeSimulator();
        shm = Files.createDirectories(tmp.resolve("shm"));
        rt = StokerRuntime.create(RuntimeConfig.defaults().withName("receiver").withGpuIds(List.of("0")));
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

    private Process startSender(String edge, int count, String mode) throws Exception {
        sender = ChildJvm.start(RemoteEdgeSenderMain.class, tmp.resolve(edge + ".log"), edge, shm.toString(),
                Long.toString(ProcessHandle.current().pid()), Integer.toString(count), Integer.toString(ELEMENTS),
                mode);
        return sender;
    }

    private String log(String edge) throws Exception {
        return Files.readString(tmp.resolve(edge + ".log"));
    }

    private RemoteEdge edgeFrom(String name, long senderPid) {
        return RemoteEdge.of(name, new ActorLocation(ActorLocation.local("0").host(), senderPid, "0"))
                .withDirectory(shm).withSlots(2).withSlotBytes(ELEMENTS * 4L);
    }

    private CompiledGraph<Integer, float[]> receiver(RemoteEdge edge) {
        GraphBuilder g = GraphBuilder.on(rt, "receiver");
        g.<Integer>input();
        Node<DeviceArray> got = g.receiveFrom(sink, edge);
        return g.compile(g.bind(sink, Sink::toHost, got));
    }

    private static void assertArray(float[] v, int x) {
        assertThat(v).as("array of execution %d", x).hasSize(ELEMENTS);
        for (int i = 0; i < ELEMENTS; i++) {
            if (v[i] != x * 1000 + i + 0.5f) {
                assertThat(v[i]).as("execution %d element %d", x, i).isEqualTo(x * 1000 + i + 0.5f);
            }
        }
    }

    private List<Path> shmFiles() throws Exception {
        try (Stream<Path> s = Files.list(shm)) {
            return s.toList();
        }
    }

    @Test
    void shouldCarryTwentyArraysFromAnotherProcessInExecutionOrder() throws Exception {
        Process p = startSender("xfer", 20, "exit");
        try (CompiledGraph<Integer, float[]> cg = receiver(edgeFrom("xfer", p.pid()))) {
            assertThat(cg.scheduleToDot()).contains("receiveFrom[xfer]");
            for (int x = 0; x < 20; x++) {
                float[] v = cg.execute(x).get(60, TimeUnit.SECONDS);
                assertArray(v, x);
            }
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("sender log: %s", log("xfer")).isTrue();
            assertThat(p.exitValue()).as("sender log: %s", log("xfer")).isZero();
            assertThat(log("xfer")).contains("SENT 19 " + ELEMENTS * 4).contains("DONE " + 20L * ELEMENTS * 4);
            assertThat(shmFiles()).as("rendezvous file and two rings while open").hasSize(3);
        }
        assertThat(sink.call(Sink::liveBuffers).join()).as("slots and arrays left on the receiver's device").isZero();
        assertThat(shmFiles()).as("files left after both graphs closed").isEmpty();
    }

    @Test
    void shouldFailTheWaitingExecutionNamingTheEdgeWhenTheSenderDies() throws Exception {
        Process p = startSender("dies", 3, "linger");
        try (CompiledGraph<Integer, float[]> cg = receiver(edgeFrom("dies", p.pid()))) {
            for (int x = 0; x < 3; x++) {
                assertArray(cg.execute(x).get(60, TimeUnit.SECONDS), x);
            }
            p.destroyForcibly();
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            ExecutionRef<float[]> next = cg.execute(3);
            assertThatThrownBy(() -> next.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionFailedException.class)
                    .hasMessageContaining("cross-process edge 'dies'")
                    .hasMessageContaining("the sending process " + p.pid() + " is gone");
        }
        assertThat(sink.call(Sink::liveBuffers).join()).isZero();
        assertThat(shmFiles()).as("the receiver deletes its files though the sender died").isEmpty();
    }

    @Test
    void shouldFailTheSendersExecutionNamingTheEdgeWhenTheReceiverCloses() throws Exception {
        Process p = startSender("closes", 6, "exit");
        try (CompiledGraph<Integer, float[]> cg = receiver(edgeFrom("closes", p.pid()))) {
            for (int x = 0; x < 2; x++) {
                assertArray(cg.execute(x).get(60, TimeUnit.SECONDS), x);
            }
        } // arrays 2 and 3 may fill the two slots; the sender waits for a free one, then sees the receiver gone
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("sender log: %s", log("closes")).isTrue();
        assertThat(p.exitValue()).as("sender log: %s", log("closes")).isZero();
        assertThat(log("closes")).contains("SENT 1 ").doesNotContain("SENT 5 ")
                .containsPattern("FAILED [2-4]: .*cross-process edge 'closes': the receiving process "
                        + ProcessHandle.current().pid() + " closed its end");
        assertThat(shmFiles()).isEmpty();
    }

    @Test
    void shouldRefuseEdgesToAnotherHostOrToThisProcessAtCompile() {
        GraphBuilder far = GraphBuilder.on(rt, "far");
        InputNode<Integer> in = far.input();
        RemoteEdge toFar = RemoteEdge.of("far", new ActorLocation("gpu-node-7.example", 4242, "0"));
        Node<Long> sent = far.sendTo(far.bind(sink, Sink::make, in), toFar);
        assertThatThrownBy(() -> far.compile(sent)).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("cross-process edge 'far'").hasMessageContaining("host 'gpu-node-7.example'")
                .hasMessageContaining("an edge between hosts goes by NCCL send/recv");

        GraphBuilder same = GraphBuilder.on(rt, "same");
        same.<Integer>input();
        RemoteEdge toSelf = RemoteEdge.of("self", ActorLocation.local("0"));
        Node<float[]> out = same.bind(sink, Sink::toHost, same.receiveFrom(sink, toSelf));
        assertThatThrownBy(() -> same.compile(out)).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("cross-process edge 'self'").hasMessageContaining("a peer in this process")
                .hasMessageContaining("use a normal edge");
    }

    @Test
    void shouldRefuseASentArrayWithAnotherReaderAndTimeOutWithoutAReceiver() throws Exception {
        long otherLive = ProcessHandle.current().parent().orElseThrow().pid(); // the build's JVM: alive, same host
        RemoteEdge edge = edgeFrom("lonely", otherLive).withTimeout(Duration.ofMillis(300));

        GraphBuilder shared = GraphBuilder.on(rt, "shared");
        InputNode<Integer> in = shared.input();
        Node<DeviceArray> made = shared.bind(sink, Sink::make, in);
        Node<Long> sent = shared.sendTo(made, edge);
        Node<float[]> alsoRead = shared.bind(sink, Sink::toHost, made);
        assertThatThrownBy(() -> shared.compileMulti(GraphOptions.defaults(), sent, alsoRead))
                .isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("moves sink.make (#1) to another process")
                .hasMessageContaining("sink.toHost");

        GraphBuilder g = GraphBuilder.on(rt, "lonely");
        InputNode<Integer> in2 = g.input();
        Node<Long> s2 = g.sendTo(g.bind(sink, Sink::make, in2), edge);
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> g.compile(s2)).isInstanceOf(GraphException.class)
                .hasMessageContaining("cross-process edge 'lonely'")
                .hasMessageContaining("no receiving end appeared within 300 ms")
                .hasMessageContaining("in process " + otherLive);
        assertThat(System.nanoTime() - t0).as("waited about the timeout").isGreaterThan(250_000_000L);
    }

    @Test
    void shouldNameTheBadFieldOfARemoteEdge() {
        ActorLocation peer = new ActorLocation("h", 1, "0");
        assertThatThrownBy(() -> RemoteEdge.of("a/b", peer)).hasMessageContaining("name 'a/b'");
        assertThatThrownBy(() -> RemoteEdge.of("e", new ActorLocation("h", 1, null))).hasMessageContaining("no GPU");
        assertThatThrownBy(() -> RemoteEdge.of("e", peer).withSlots(0)).hasMessageContaining("slots=0");
        assertThatThrownBy(() -> RemoteEdge.of("e", peer).withSlotBytes(0)).hasMessageContaining("slotBytes=0");
        assertThatThrownBy(() -> RemoteEdge.of("e", peer).withTimeout(Duration.ZERO)).hasMessageContaining("timeout=");
        RemoteEdge e = RemoteEdge.of("e", peer).withSlots(3).withSlotBytes(64);
        assertThat(e.slots()).isEqualTo(3);
        assertThat(e.slotBytes()).isEqualTo(64);
        assertThat(e).isEqualTo(RemoteEdge.of("e", peer).withSlots(3).withSlotBytes(64));
    }
}
