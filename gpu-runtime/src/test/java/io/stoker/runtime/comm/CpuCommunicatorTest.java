package io.stoker.runtime.comm;

import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
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

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CpuCommunicatorTest {
    private StokerRuntime rt;
    private List<ActorHandle<Object>> actors;

    @BeforeEach
    void setUp() {
        rt = StokerRuntime.create();
        actors = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            actors.add(rt.createActor(ActorSpec.ofSupplier("r" + i, Object::new)));
        }
    }

    @AfterEach
    void tearDown() {
        rt.close();
    }

    @Test
    void shouldAllreduceInPlaceManyRoundsFromRealThreads() throws Exception {
        CpuCommunicator comm = CpuCommunicator.create("four", actors, 10, TimeUnit.SECONDS);
        List<CompletableFuture<float[]>> results = new ArrayList<>();
        for (int r = 0; r < 4; r++) {
            int rank = r;
            results.add(CompletableFuture.supplyAsync(() -> {
                float[] last = null;
                for (int round = 0; round < 2000; round++) {
                    float[] v = {rank, round, 1};
                    comm.allreduceInPlace(rank, v, ReduceOp.SUM);
                    if (v[0] != 6 || v[1] != 4f * round || v[2] != 4) {
                        throw new AssertionError("round " + round + " rank " + rank + ": " + java.util.Arrays.toString(v));
                    }
                    last = v;
                }
                return last;
            }));
        }
        for (CompletableFuture<float[]> f : results) {
            assertThat(f.get(30, TimeUnit.SECONDS)).containsExactly(6f, 4f * 1999, 4f);
        }
    }

    @Test
    void shouldFailEveryRankWhenCallsDoNotMatch() throws Exception {
        CpuCommunicator comm = CpuCommunicator.create("pair", actors.subList(0, 2), 10, TimeUnit.SECONDS);
        CompletableFuture<Object> r0 = CompletableFuture.supplyAsync(
                () -> comm.allreduce(0, new int[]{1, 2}, ReduceOp.SUM));
        CompletableFuture<Object> r1 = CompletableFuture.supplyAsync(() -> comm.allgather(1, new int[]{1, 2, 3}));
        for (CompletableFuture<Object> f : List.of(r0, r1)) {
            assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS))
                    .hasRootCauseMessage("communicator 'pair' call 0: rank 0 called allreduce(SUM, int[2]) but rank 1"
                            + " called allgather(SUM, int[3]); every rank must make the same calls in the same order");
        }
    }

    @Test
    void shouldTimeOutNamingTheCommunicatorWhenAPeerNeverArrives() {
        CpuCommunicator comm = CpuCommunicator.create("lonely", actors.subList(0, 2), 200, TimeUnit.MILLISECONDS);
        assertThatThrownBy(() -> comm.allreduce(0, new double[]{1}, ReduceOp.SUM))
                .isInstanceOf(CollectiveException.class)
                .hasMessageContaining("communicator 'lonely' rank 0: peers did not arrive within 200 ms");
    }

    @Test
    void shouldFailEveryRankOnAnInvalidBufferAndStayInStep() throws Exception {
        // Rank 1's buffer is null: its call still counts, so both ranks fail this call and the next one pairs up.
        CpuCommunicator comm = CpuCommunicator.create("pair", actors.subList(0, 2), 10, TimeUnit.SECONDS);
        CompletableFuture<float[]> r0 = CompletableFuture.supplyAsync(() -> {
            float[] bad = {1, 2};
            try {
                comm.allreduceInPlace(0, bad, ReduceOp.SUM);
                throw new AssertionError("rank 0's call should have failed");
            } catch (CollectiveException expected) {
                assertThat(expected).hasMessageContaining("rank 1 allreduce: buffer is null");
            }
            float[] good = {8, 8};
            comm.allreduceInPlace(0, good, ReduceOp.SUM);
            return good;
        });
        CompletableFuture<float[]> r1 = CompletableFuture.supplyAsync(() -> {
            assertThatThrownBy(() -> comm.allreduceInPlace(1, null, ReduceOp.SUM))
                    .isInstanceOf(CollectiveException.class)
                    .hasMessageContaining("rank 1 allreduce: buffer is null; collectives take float[], double[], int[]"
                            + " or long[]");
            float[] good = {8, 8};
            comm.allreduceInPlace(1, good, ReduceOp.SUM);
            return good;
        });
        assertThat(r0.get(20, TimeUnit.SECONDS)).as("the next call is in step: 8 + 8").containsExactly(16f, 16f);
        assertThat(r1.get(20, TimeUnit.SECONDS)).containsExactly(16f, 16f);
    }

    @Test
    void shouldRejectBadRanksAndDuplicateMembers() {
        CpuCommunicator comm = CpuCommunicator.create("pair", actors.subList(0, 2));
        assertThatThrownBy(() -> comm.start(CollectiveKind.ALLREDUCE, ReduceOp.SUM, 2, new int[1]))
                .hasMessageContaining("rank 2 is outside 0..1");
        assertThatThrownBy(() -> CpuCommunicator.create("dup", List.of(actors.get(0), actors.get(0))))
                .hasMessageContaining("actor 'r0' appears twice");
        assertThat(comm.rankOf(actors.get(1))).isEqualTo(1);
        assertThat(comm.rankOf(actors.get(3))).isEqualTo(-1);
    }

    @Test
    void shouldFailAWaitingRankAtOnceWhenAPeerActorDies() throws Exception {
        CpuCommunicator comm = CpuCommunicator.create("pair", actors.subList(0, 2), 30, TimeUnit.SECONDS);
        CompletableFuture<Object> waiting = CompletableFuture.supplyAsync(
                () -> comm.allreduce(0, new double[]{1}, ReduceOp.SUM));
        Thread.sleep(50);
        long t0 = System.nanoTime();
        actors.get(1).kill(new IllegalStateException("simulated crash"));
        assertThatThrownBy(() -> waiting.get(20, TimeUnit.SECONDS)).hasCauseInstanceOf(CollectiveException.class)
                .hasMessageContaining("rank 1 (actor 'r1') is dead").hasMessageContaining("simulated crash");
        assertThat(System.nanoTime() - t0).as("not after the 30 s timeout").isLessThan(TimeUnit.SECONDS.toNanos(10));
    }
}
