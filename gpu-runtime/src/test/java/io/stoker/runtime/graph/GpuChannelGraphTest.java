package io.stoker.runtime.graph;

import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.channel.ActorLocation;
import io.stoker.runtime.channel.GpuChannelKind;
import io.stoker.runtime.channel.GpuChannelPlanner;
import io.stoker.runtime.comm.NcclCommunicator;
import io.stoker.runtime.comm.ReduceOp;
import io.stoker.runtime.cuda.CudaActors;
import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaTestSupport;
import io.stoker.runtime.cuda.DeviceArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * GPU channels compiled into graphs on the CUDA simulator: the compiler picks the kind from where the actors live
 * (same actor: hand-over; two GPUs of this process: peer copy; NCCL when asked), values arrive on the reader's own
 * device, sources are freed on the writer, and nothing leaks when the graph closes.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class GpuChannelGraphTest {
    /** A GPU actor: makes arrays on its device, reads arrays that arrive, reports where they live. */
    static final class Gpu implements AutoCloseable {
        final int rank;
        final CudaDevice device;
        NcclCommunicator comm;

        Gpu(int rank, CudaDevice device) {
            this.rank = rank;
            this.device = device;
        }

        Boolean join(NcclCommunicator c) {
            comm = c;
            c.join(rank, device);
            return true;
        }

        DeviceArray make(Integer x) {
            return DeviceArray.of(device, new float[] {x, x + 0.5f, -x, 7}, "made");
        }

        DeviceArray failOnThree(Integer x) {
            if (x == 3) {
                throw new IllegalStateException("no array for 3");
            }
            return make(x);
        }

        /** Doubles an array on this device, in place. */
        DeviceArray twice(DeviceArray a) {
            checkMine(a);
            float[] v = a.toFloats();
            for (int i = 0; i < v.length; i++) {
                v[i] *= 2;
            }
            a.buffer().copyFrom(v);
            return a;
        }

        /** The values of an array that arrived on this device, then the device's ordinal; frees the array. */
        float[] read(DeviceArray a) {
            checkMine(a);
            try (a) {
                float[] v = a.toFloats();
                float[] out = java.util.Arrays.copyOf(v, v.length + 1);
                out[v.length] = device.ordinal();
                return out;
            }
        }

        private void checkMine(DeviceArray a) {
            if (a.device() != device) {
                throw new IllegalStateException("array on device " + a.device().ordinal() + " reached device "
                        + device.ordinal());
            }
        }

        Integer liveBuffers() {
            return device.memory().liveBuffers();
        }

        @Override
        public void close() {
            if (comm != null) {
                comm.leave(rank);
            }
            device.close();
        }
    }

    /** A CPU actor (no GPU). */
    static final class Cpu {
        float[] read(DeviceArray a) {
            return new float[0];
        }
    }

    private StokerRuntime rt;
    private ActorHandle<Gpu> g0;
    private ActorHandle<Gpu> g1;

    @BeforeEach
    void setUp() {
        CudaTestSupport.assumeSimulator();
        rt = StokerRuntime.create(RuntimeConfig.defaults().withName("gpu-channels").withGpuIds(List.of("0", "1")));
        g0 = rt.createActor(ActorSpec.of("g0", CudaActors.onDevice(CudaTestSupport.config(),
                (ctx, d) -> new Gpu(0, d))).withGpus(1));
        g1 = rt.createActor(ActorSpec.of("g1", CudaActors.onDevice(CudaTestSupport.config(),
                (ctx, d) -> new Gpu(1, d))).withGpus(1));
    }

    @AfterEach
    void tearDown() {
        if (rt != null) {
            rt.close();
        }
    }

    private void assertNoDeviceMemoryHeld() {
        assertThat(g0.call(Gpu::liveBuffers).join()).as("buffers left on g0's device").isZero();
        assertThat(g1.call(Gpu::liveBuffers).join()).as("buffers left on g1's device").isZero();
    }

    private static float[] expected(int x, float scale, int device) {
        return new float[] {x * scale, (x + 0.5f) * scale, -x * scale, 7 * scale, device};
    }

    @Test
    void shouldPeerCopyBetweenTwoGpusOfOneProcessAndFreeTheSource() {
        GraphBuilder g = GraphBuilder.on(rt, "peer");
        InputNode<Integer> in = g.input();
        Node<DeviceArray> made = g.bind(g0, Gpu::make, in).withTensorTransport(TensorTransport.AUTO);
        Node<float[]> out = g.bind(g1, Gpu::read, made);
        try (CompiledGraph<Integer, float[]> cg = g.compile(out, GraphOptions.defaults().withMaxInFlight(8))) {
            assertThat(cg.scheduleToDot()).contains("label=\"gpu peer_copy\"");
            List<ExecutionRef<float[]>> refs = new ArrayList<>();
            for (int x = 0; x < 40; x++) {
                refs.add(cg.execute(x));
                if (refs.size() == 8) {
                    int first = x - 7;
                    assertThat(refs.remove(0).get()).as("input %d", first).containsExactly(expected(first, 1, 1));
                }
            }
            for (int k = 0; k < refs.size(); k++) {
                int x = 40 - refs.size() + k;
                assertThat(refs.get(k).get()).containsExactly(expected(x, 1, 1));
            }
        }
        assertNoDeviceMemoryHeld();
    }

    @Test
    void shouldHandOverOnOneActorAndCopyOnlyBetweenActors() {
        GraphBuilder g = GraphBuilder.on(rt, "hand-over");
        InputNode<Integer> in = g.input();
        Node<DeviceArray> made = g.bind(g0, Gpu::make, in).withTensorTransport(TensorTransport.AUTO);
        Node<DeviceArray> doubled = g.bind(g0, Gpu::twice, made).withTensorTransport(TensorTransport.AUTO);
        Node<float[]> out = g.bind(g1, Gpu::read, doubled);
        try (CompiledGraph<Integer, float[]> cg = g.compile(out)) {
            String dot = cg.scheduleToDot();
            assertThat(dot).contains("label=\"local\"").contains("label=\"gpu peer_copy\"");
            for (int x = 0; x < 10; x++) {
                assertThat(cg.execute(x).get()).containsExactly(expected(x, 2, 1));
            }
        }
        assertNoDeviceMemoryHeld();
    }

    @Test
    void shouldPassAFailureAcrossAGpuChannelAndRunTheNextExecutions() {
        GraphBuilder g = GraphBuilder.on(rt, "failing");
        InputNode<Integer> in = g.input();
        Node<DeviceArray> made = g.bind(g0, Gpu::failOnThree, in).withTensorTransport(TensorTransport.AUTO);
        try (CompiledGraph<Integer, float[]> cg = g.compile(g.bind(g1, Gpu::read, made))) {
            assertThat(cg.execute(2).get()).containsExactly(expected(2, 1, 1));
            assertThatThrownBy(() -> cg.execute(3).get()).isInstanceOf(ExecutionFailedException.class)
                    .hasMessageContaining("g0.failOnThree").hasMessageContaining("no array for 3");
            assertThat(cg.execute(4).get()).containsExactly(expected(4, 1, 1));
        }
        assertNoDeviceMemoryHeld();
    }

    @Test
    void shouldFreeValuesStillInFlightWhenTheGraphCloses() throws Exception {
        GraphBuilder g = GraphBuilder.on(rt, "closing");
        InputNode<Integer> in = g.input();
        Node<DeviceArray> made = g.bind(g0, Gpu::make, in).withTensorTransport(TensorTransport.AUTO);
        CompiledGraph<Integer, float[]> cg = g.compile(g.bind(g1, Gpu::read, made),
                GraphOptions.defaults().withMaxInFlight(16));
        // Keep g1 busy so values pile up in the channel, then close the graph under them.
        CompletableFuture<Integer> busy = g1.call(x -> {
            Thread.sleep(300);
            return 0;
        });
        for (int x = 0; x < 10; x++) {
            cg.execute(x);
        }
        Thread.sleep(100);
        cg.close();
        busy.get(10, TimeUnit.SECONDS);
        assertNoDeviceMemoryHeld();
    }

    @Test
    void shouldSendOverNcclInOneOrderWithTheCommunicatorsCollectives() {
        NcclCommunicator comm = NcclCommunicator.create("pair", List.of(g0, g1), 20, TimeUnit.SECONDS);
        CompletableFuture<Boolean> j0 = g0.call(Gpu::join, comm);
        CompletableFuture<Boolean> j1 = g1.call(Gpu::join, comm);
        j0.join();
        j1.join();
        // Each rank makes an array, they are summed, rank 0 doubles its sum and sends it to rank 1 over NCCL.
        GraphBuilder g = GraphBuilder.on(rt, "nccl-edge");
        InputNode<Integer> in = g.input();
        List<Node<DeviceArray>> sums = g.allreduce(comm, ReduceOp.SUM,
                List.of(g.bind(g0, Gpu::make, in), g.bind(g1, Gpu::make, in)));
        Node<DeviceArray> sent = g.bind(g0, Gpu::twice, sums.get(0)).withTensorTransport(TensorTransport.nccl(comm));
        Node<float[]> fromZero = g.bind(g1, Gpu::read, sent);
        Node<float[]> own = g.bind(g1, Gpu::read, sums.get(1));
        try (CompiledGraph<Integer, List<Object>> cg = g.compileMulti(GraphOptions.defaults().withMaxInFlight(4),
                fromZero, own)) {
            assertThat(cg.scheduleToDot()).contains("label=\"gpu nccl\"");
            for (int x = 0; x < 20; x++) {
                List<Object> r = cg.execute(x).get(20, TimeUnit.SECONDS);
                assertThat((float[]) r.get(0)).as("x=%d, rank 0's doubled sum", x).containsExactly(expected(x, 4, 1));
                assertThat((float[]) r.get(1)).as("x=%d, rank 1's sum", x).containsExactly(expected(x, 2, 1));
            }
        }
        assertNoDeviceMemoryHeld();
    }

    @Test
    void shouldRefuseAtCompileTimeRanksThatIssueAnAllreduceAndAnNcclSendRecvInDifferentOrders() {
        NcclCommunicator comm = NcclCommunicator.create("pair", List.of(g0, g1), 20, TimeUnit.SECONDS);
        // Rank 0 issues the allreduce, then sends its doubled sum to rank 1; rank 1 first receives that, and only then
        // enters the allreduce. On NCCL (and on the host) each waits for the other: compile must refuse it.
        GraphBuilder g = GraphBuilder.on(rt, "crossed-nccl");
        InputNode<Integer> in = g.input();
        List<Node<DeviceArray>> sums = g.allreduce(comm, ReduceOp.SUM,
                List.of(g.bind(g0, Gpu::make, in), g.bind(g1, Gpu::make, in)));
        Node<DeviceArray> sent = g.bind(g0, Gpu::twice, sums.get(0)).withTensorTransport(TensorTransport.nccl(comm));
        Node<float[]> fromZero = g.bind(g1, Gpu::read, sent);
        sums.get(1).after(fromZero);
        Node<float[]> own = g.bind(g1, Gpu::read, sums.get(1));
        assertThatThrownBy(() -> g.compileMulti(GraphOptions.defaults(), fromZero, own))
                .isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("schedule deadlock: collectives and NCCL sends/receives are issued in an order")
                .hasMessageContaining("g0.twice (#5) waits for g0.allreduce#0(pair, SUM) (#3)")
                .hasMessageContaining("g1.read (#6) receives by NCCL send/recv over 'pair' from g0.twice (#5)")
                .hasMessageContaining("g1.allreduce#0(pair, SUM) (#4) waits for g1.read (#6)")
                .hasMessageContaining("Every rank must issue the same collectives and NCCL sends/receives in the same"
                        + " order");
    }

    @Test
    void shouldRefuseDeviceMemoryToAnActorWithoutAGpu() {
        ActorHandle<Cpu> cpu = rt.createActor(ActorSpec.ofSupplier("cpu", Cpu::new));
        GraphBuilder g = GraphBuilder.on(rt, "no-gpu");
        InputNode<Integer> in = g.input();
        Node<DeviceArray> made = g.bind(g0, Gpu::make, in).withTensorTransport(TensorTransport.AUTO);
        Node<float[]> out = g.bind(cpu, Cpu::read, made);
        assertThatThrownBy(() -> g.compile(out)).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("g0.make (#1) travels as device memory from actor 'g0' to actor 'cpu'")
                .hasMessageContaining("'cpu' has no GPU");
    }

    @Test
    void shouldRefuseAMovedValueWithTwoReaders() {
        GraphBuilder g = GraphBuilder.on(rt, "fan-out");
        InputNode<Integer> in = g.input();
        Node<DeviceArray> made = g.bind(g0, Gpu::make, in).withTensorTransport(TensorTransport.AUTO);
        Node<float[]> a = g.bind(g1, Gpu::read, made);
        Node<float[]> b = g.bind(g0, Gpu::read, made);
        assertThatThrownBy(() -> g.compileMulti(GraphOptions.defaults(), a, b))
                .isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("travels as device memory (auto), which moves it to its reader, but it has 2"
                        + " reading task(s)");
    }

    @Test
    void shouldRefuseNcclToAnActorOutsideTheCommunicator() {
        NcclCommunicator solo = NcclCommunicator.create("solo", List.of(g0));
        GraphBuilder g = GraphBuilder.on(rt, "outsider");
        InputNode<Integer> in = g.input();
        Node<DeviceArray> made = g.bind(g0, Gpu::make, in).withTensorTransport(TensorTransport.nccl(solo));
        assertThatThrownBy(() -> g.compile(g.bind(g1, Gpu::read, made))).isInstanceOf(GraphValidationException.class)
                .hasMessageContaining("travels by NCCL over 'solo', but actor 'g1' is not one of its members");
    }

    @Test
    void shouldPlanTheChannelKindFromWhereTheActorsLive() {
        ActorLocation a = new ActorLocation("node-a", 100, "0");
        assertThat(GpuChannelPlanner.choose(a, new ActorLocation("node-a", 100, "0")))
                .isEqualTo(GpuChannelKind.HAND_OVER);
        assertThat(GpuChannelPlanner.choose(a, new ActorLocation("node-a", 100, "1")))
                .isEqualTo(GpuChannelKind.PEER_COPY);
        assertThat(GpuChannelPlanner.choose(a, new ActorLocation("node-a", 200, "0")))
                .isEqualTo(GpuChannelKind.CUDA_IPC);
        assertThat(GpuChannelPlanner.choose(a, new ActorLocation("node-b", 100, "0")))
                .isEqualTo(GpuChannelKind.NCCL);
        assertThatThrownBy(() -> GpuChannelPlanner.choose(a, new ActorLocation("node-a", 100, null)))
                .hasMessageContaining("the reader has none");
    }
}
