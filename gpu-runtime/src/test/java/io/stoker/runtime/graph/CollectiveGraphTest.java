package io.stoker.runtime.graph;

import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.comm.CpuCommunicator;
import io.stoker.runtime.comm.ReduceOp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CollectiveGraphTest {
    /** Rank r turns input x into [x + r, 2r, r*r, ..., length n * world]. */
    static final class Shard {
        final int rank;
        final int width;

        Shard(int rank, int width) {
            this.rank = rank;
            this.width = width;
        }

        double[] make(Integer x) {
            double[] v = new double[width];
            for (int i = 0; i < width; i++) {
                v[i] = x + rank * 10 + i;
            }
            return v;
        }

        double[] failOn(Integer x) {
            if (x == rank) {
                throw new IllegalStateException("rank " + rank + " rejects " + x);
            }
            return make(x);
        }

        /** Tensor-parallel style: a blocking allreduce inside the method. */
        double[] blockingAllreduce(CpuCommunicator comm, Integer x) {
            double[] v = make(x);
            comm.allreduceInPlace(rank, v, ReduceOp.SUM);
            return v;
        }
    }

    private StokerRuntime rt;

    @BeforeEach
    void setUp() {
        rt = StokerRuntime.create();
    }

    @AfterEach
    void tearDown() {
        rt.close();
    }

    private List<ActorHandle<Shard>> shards(int n, int width) {
        List<ActorHandle<Shard>> out = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            int rank = r;
            out.add(rt.createActor(ActorSpec.of("shard" + r, ctx -> new Shard(rank, width))));
        }
        return out;
    }

    private static double[] expected(int world, int width, int x, int rank) {
        return new Shard(rank, width).make(x);
    }

    @ParameterizedTest(name = "world size {0}")
    @ValueSource(ints = {2, 3, 4})
    void shouldAllreduceAllgatherAndReducescatterAcrossRanks(int world) {
        int width = 2 * world;
        List<ActorHandle<Shard>> s = shards(world, width);
        CpuCommunicator comm = CpuCommunicator.create("tp", s);
        GraphBuilder g = GraphBuilder.on(rt, "collectives-" + world);
        InputNode<Integer> in = g.input();
        List<Node<double[]>> local = new ArrayList<>();
        for (ActorHandle<Shard> h : s) {
            local.add(g.bind(h, Shard::make, in));
        }
        List<Node<double[]>> summed = g.allreduce(comm, ReduceOp.SUM, local);
        List<Node<double[]>> maxed = g.allreduce(comm, ReduceOp.MAX, local);
        List<Node<double[]>> gathered = g.allgather(comm, local);
        List<Node<double[]>> scattered = g.reducescatter(comm, ReduceOp.SUM, local);
        List<Node<?>> outs = new ArrayList<>();
        outs.addAll(summed);
        outs.addAll(maxed);
        outs.addAll(gathered);
        outs.addAll(scattered);
        try (CompiledGraph<Integer, List<Object>> cg = g.compileMulti(GraphOptions.defaults(),
                outs.toArray(new Node<?>[0]))) {
            for (int x = 0; x < 50; x++) {
                List<Object> r = cg.execute(x).get();
                double[] sum = new double[width];
                double[] max = new double[width];
                java.util.Arrays.fill(max, Double.NEGATIVE_INFINITY);
                double[] all = new double[width * world];
                for (int rank = 0; rank < world; rank++) {
                    double[] e = expected(world, width, x, rank);
                    for (int i = 0; i < width; i++) {
                        sum[i] += e[i];
                        max[i] = Math.max(max[i], e[i]);
                        all[rank * width + i] = e[i];
                    }
                }
                for (int rank = 0; rank < world; rank++) {
                    assertThat((double[]) r.get(rank)).containsExactly(sum);
                    assertThat((double[]) r.get(world + rank)).containsExactly(max);
                    assertThat((double[]) r.get(2 * world + rank)).containsExactly(all);
                    int chunk = width / world;
                    assertThat((double[]) r.get(3 * world + rank))
                            .containsExactly(java.util.Arrays.copyOfRange(sum, rank * chunk, (rank + 1) * chunk));
                }
                assertThat(r.get(0)).as("each rank owns its own result array").isNotSameAs(r.get(1));
            }
        }
    }

    @Test
    void shouldFailEveryRankOfACollectiveWhenOneInputFailedThenRecover() {
        List<ActorHandle<Shard>> s = shards(2, 4);
        CpuCommunicator comm = CpuCommunicator.create("pair", s);
        GraphBuilder g = GraphBuilder.on(rt, "poisoned");
        InputNode<Integer> in = g.input();
        List<Node<double[]>> local = List.of(g.bind(s.get(0), Shard::failOn, in), g.bind(s.get(1), Shard::failOn, in));
        List<Node<double[]>> red = g.allreduce(comm, ReduceOp.SUM, local);
        try (CompiledGraph<Integer, List<Object>> cg = g.compileMulti(GraphOptions.defaults(), red.get(0),
                red.get(1))) {
            assertThatThrownBy(() -> cg.execute(1).get()).isInstanceOf(ExecutionFailedException.class)
                    .hasMessageContaining("actor 'shard1'").hasMessageContaining("rank 1 rejects 1");
            List<Object> ok = cg.execute(5).get();
            assertThat((double[]) ok.get(0)).containsExactly(20, 22, 24, 26);
        }
    }

    @Test
    void shouldPipelineManyExecutionsThroughCollectives() {
        List<ActorHandle<Shard>> s = shards(3, 3);
        CpuCommunicator comm = CpuCommunicator.create("tri", s);
        GraphBuilder g = GraphBuilder.on(rt, "pipelined");
        InputNode<Integer> in = g.input();
        List<Node<double[]>> local = new ArrayList<>();
        s.forEach(h -> local.add(g.bind(h, Shard::make, in)));
        List<Node<double[]>> red = g.allreduce(comm, ReduceOp.SUM, local);
        try (CompiledGraph<Integer, double[]> cg = g.compile(red.get(2), GraphOptions.defaults().withMaxInFlight(32))) {
            List<ExecutionRef<double[]>> refs = new ArrayList<>();
            for (int x = 0; x < 32; x++) {
                refs.add(cg.execute(x));
            }
            for (int x = 0; x < 32; x++) {
                assertThat(refs.get(x).get()).containsExactly(3.0 * x + 30, 3.0 * x + 33, 3.0 * x + 36);
            }
        }
    }

    @Test
    void shouldSupportBlockingCollectivesInsideActorMethods() {
        List<ActorHandle<Shard>> s = shards(2, 2);
        CpuCommunicator comm = CpuCommunicator.create("inside", s);
        GraphBuilder g = GraphBuilder.on(rt, "tensor-parallel");
        InputNode<Integer> in = g.input();
        Node<double[]> r0 = g.bindN(s.get(0), "forward", (a, xs) -> a.blockingAllreduce(comm, (Integer) xs[0]),
                List.of(in));
        Node<double[]> r1 = g.bindN(s.get(1), "forward", (a, xs) -> a.blockingAllreduce(comm, (Integer) xs[0]),
                List.of(in));
        try (CompiledGraph<Integer, List<Object>> cg = g.compileMulti(GraphOptions.defaults(), r0, r1)) {
            List<Object> r = cg.execute(1).get();
            assertThat((double[]) r.get(0)).containsExactly(12, 14);
            assertThat((double[]) r.get(1)).containsExactly(12, 14);
        }
    }
}
