package io.stoker.runtime.cuda;

import io.stoker.runtime.comm.ReduceOp;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BiFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * NCCL on the simulator: two ranks, each a thread with its own device, as issue 13's GPU communicator will use
 * them. Collectives wait for every rank; mismatched calls fail every rank naming both calls.
 */
@Timeout(60)
class NcclSimulatorTest {

    @BeforeEach
    void simulatorOnly() {
        CudaTestSupport.assumeSimulator();
    }

    /** Runs {@code body(rank, comm)} on two threads, one device each; returns both results. */
    private static <T> Object[] twoRanks(BiFunction<Integer, NcclComm, T> body) throws Exception {
        byte[] id = Nccl.uniqueId();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<?>[] f = new Future<?>[2];
            for (int r = 0; r < 2; r++) {
                int rank = r;
                f[r] = pool.submit((Callable<Object>) () -> {
                    try (CudaDevice d = CudaDevice.open(rank, CudaTestSupport.config());
                         NcclComm comm = Nccl.initRank(d, 2, id, rank)) {
                        return body.apply(rank, comm);
                    } catch (Exception e) {
                        return e;
                    }
                });
            }
            return new Object[] {f[0].get(), f[1].get()};
        } finally {
            pool.shutdownNow();
        }
    }

    private static float[] run(NcclComm comm, float[] in, int outLength, java.util.function.BiConsumer<DeviceBuffer,
            DeviceBuffer> op) {
        CudaDevice d = comm.device();
        try (DeviceBuffer send = d.allocate(4L * in.length, "send"); DeviceBuffer recv = d.allocate(4L * outLength, "recv")) {
            send.copyFrom(in);
            op.accept(send, recv);
            d.stream().synchronize();
            float[] out = new float[outLength];
            recv.copyTo(out);
            return out;
        }
    }

    @Test
    void shouldReduceGatherScatterAndBroadcastAcrossRanks() throws Exception {
        Object[] out = twoRanks((rank, comm) -> {
            CudaDevice d = comm.device();
            float[] mine = {rank + 1, 10 * (rank + 1), 100, -rank};
            float[] sum = run(comm, mine, 4, (s, r) -> comm.allReduce(s, r, 4, CudaDataType.F32, ReduceOp.SUM, d.stream()));
            float[] max = run(comm, mine, 4, (s, r) -> comm.allReduce(s, r, 4, CudaDataType.F32, ReduceOp.MAX, d.stream()));
            float[] all = run(comm, mine, 8, (s, r) -> comm.allGather(s, r, 4, CudaDataType.F32, d.stream()));
            float[] part = run(comm, mine, 2, (s, r) -> comm.reduceScatter(s, r, 2, CudaDataType.F32, ReduceOp.SUM,
                    d.stream()));
            float[] root = run(comm, mine, 4, (s, r) -> comm.broadcast(s, r, 4, CudaDataType.F32, 1, d.stream()));
            return new float[][] {sum, max, all, part, root, {comm.rank(), comm.size()}};
        });
        for (int rank = 0; rank < 2; rank++) {
            assertThat(out[rank]).as("rank %d", rank).isInstanceOf(float[][].class);
            float[][] r = (float[][]) out[rank];
            assertThat(r[0]).containsExactly(3, 30, 200, -1);
            assertThat(r[1]).containsExactly(2, 20, 100, 0);
            assertThat(r[2]).containsExactly(1, 10, 100, 0, 2, 20, 100, -1);
            assertThat(r[3]).containsExactly(rank == 0 ? new float[] {3, 30} : new float[] {200, -1});
            assertThat(r[4]).containsExactly(2, 20, 100, -1);
            assertThat(r[5]).containsExactly(rank, 2);
        }
    }

    @Test
    void shouldExchangeWithSendsAndReceivesInAGroup() throws Exception {
        Object[] out = twoRanks((rank, comm) -> {
            CudaDevice d = comm.device();
            int peer = 1 - rank;
            return run(comm, new float[] {rank, rank, rank}, 3, (s, r) -> {
                Nccl.groupStart();
                comm.send(s, 3, CudaDataType.F32, peer, d.stream());
                comm.recv(r, 3, CudaDataType.F32, peer, d.stream());
                Nccl.groupEnd();
            });
        });
        assertThat((float[]) out[0]).containsExactly(1, 1, 1);
        assertThat((float[]) out[1]).containsExactly(0, 0, 0);
    }

    @Test
    void shouldFailEveryRankWhenTheirCollectivesDiffer() throws Exception {
        Object[] out = twoRanks((rank, comm) -> {
            CudaDevice d = comm.device();
            try {
                run(comm, new float[8], 16, (s, r) -> {
                    if (rank == 0) {
                        comm.allReduce(s, r, 8, CudaDataType.F32, ReduceOp.SUM, d.stream());
                    } else {
                        comm.allGather(s, r, 8, CudaDataType.F32, d.stream());
                    }
                });
                return "no error";
            } catch (CudaException e) {
                return e.getMessage() + " | async error " + comm.asyncError();
            } finally {
                // the context's error is sticky: release it so the next test starts clean
                closeQuietly(comm, d);
            }
        });
        for (Object o : out) {
            assertThat(o).asString().contains("differs between ranks")
                    .contains("rank 0 called allReduce(count=8").contains("rank 1 called allGather(count=8")
                    .contains("async error 5");
        }
    }

    private static void closeQuietly(NcclComm comm, CudaDevice d) {
        comm.close();
        try {
            d.close();
        } catch (RuntimeException expected) {
            // the sticky error surfaces again when the device synchronises on close
        }
    }
}
