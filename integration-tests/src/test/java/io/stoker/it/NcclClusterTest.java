package io.stoker.it;

import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.comm.NcclCommunicator;
import io.stoker.runtime.comm.ReduceOp;
import io.stoker.runtime.cuda.CudaActors;
import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaDeviceConfig;
import io.stoker.runtime.cuda.DeviceArray;
import io.stoker.spark.plugin.DriverNcclIdExchange;
import io.stoker.spark.plugin.DriverState;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

import java.io.Serializable;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An NCCL group whose two ranks are the two executor JVMs of a local cluster with simulated GPUs: a barrier stage puts
 * one rank on each executor; each rank builds its part of the group ({@link NcclCommunicator#spanning}) on a GPU actor
 * over the task's GPU address, gets the id through the driver ({@link DriverNcclIdExchange} over Spark's RPC), and
 * runs an allreduce and an allgather with the other executor. Each must get the sum of both ranks' inputs and both
 * executors' process ids: the data crossed between the JVMs (through the simulator's shared memory, the test double
 * for NCCL's transport; no GPU here).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NcclClusterTest {
    private static SparkSession spark;

    @BeforeAll
    static void start() throws Exception {
        spark = SimulatedGpuCluster.start("NcclClusterTest", Map.of("spark.task.maxFailures", "1"));
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    /** The rank's GPU actor. */
    static final class GpuRank {
        final CudaDevice device;
        NcclCommunicator comm;

        GpuRank(CudaDevice device) {
            this.device = device;
        }

        Boolean join(NcclCommunicator c) {
            comm = c;
            c.join(0, device);
            return true;
        }

        /** {sum over ranks of {rank + 1, 10 (rank + 1)}, then each rank's process id}. */
        float[][] run(Integer rank) {
            try (DeviceArray in = DeviceArray.of(device, new float[] {rank + 1, 10f * (rank + 1)}, "in");
                 DeviceArray pid = DeviceArray.of(device, new float[] {ProcessHandle.current().pid()}, "pid");
                 DeviceArray sum = (DeviceArray) comm.allreduce(0, in, ReduceOp.SUM);
                 DeviceArray pids = (DeviceArray) comm.allgather(0, pid)) {
                return new float[][] {sum.toFloats(), pids.toFloats()};
            }
        }

        Boolean leave() {
            comm.leave(0);
            return true;
        }
    }

    /** One rank per partition of a barrier stage. */
    static final class Rank extends AbstractFunction1<scala.collection.Iterator<Integer>,
            scala.collection.Iterator<String>> implements Serializable {
        private final String session;

        Rank(String session) {
            this.session = session;
        }

        @Override
        public scala.collection.Iterator<String> apply(scala.collection.Iterator<Integer> rows) {
            int rank = TaskContext.getPartitionId();
            String gpu = TaskContext.get().resourcesJMap().get("gpu").addresses()[0];
            DriverNcclIdExchange ids = DriverNcclIdExchange.current(session);
            try (StokerRuntime rt = StokerRuntime.create(RuntimeConfig.defaults().withName("it-nccl-" + rank)
                    .withGpuIds(List.of(gpu)))) {
                ActorHandle<GpuRank> a = rt.createActor(ActorSpec.of("gpu" + gpu, CudaActors.onDevice(
                        new CudaDeviceConfig(64L << 20, 0.9, null, 1L << 20), (ctx, dev) -> new GpuRank(dev)))
                        .withGpus(1));
                NcclCommunicator comm = NcclCommunicator.spanning("it-tp", "it-allreduce", 2, rank, List.of(a), ids,
                        30, TimeUnit.SECONDS);
                a.call(GpuRank::join, comm).get(60, TimeUnit.SECONDS);
                float[][] got = a.call(GpuRank::run, rank).get(60, TimeUnit.SECONDS);
                a.call(GpuRank::leave).get(60, TimeUnit.SECONDS);
                comm.close();
                String line = rank + "|" + SparkEnv.get().executorId() + "|" + ProcessHandle.current().pid() + "|"
                        + gpu + "|" + got[0][0] + "," + got[0][1] + "|" + (long) got[1][0] + "," + (long) got[1][1];
                return CollectionConverters.asScala(List.of(line).iterator());
            } catch (Exception e) {
                throw new IllegalStateException("rank " + rank + ": " + e, e);
            }
        }
    }

    @Test
    void shouldAllreduceAcrossTwoExecutorJvmsWithTheIdFromTheDriver() {
        DriverState state = DriverState.forContext(spark.sparkContext());
        List<String> lines = spark.sparkContext().parallelize(CollectionConverters.asScala(List.of(0, 1)).toSeq(), 2,
                        ClassTag$.MODULE$.apply(Integer.class))
                .barrier().mapPartitions(new Rank(state.session()), false, ClassTag$.MODULE$.apply(String.class))
                .toJavaRDD().collect();

        assertThat(lines).hasSize(2);
        String[][] r = {lines.get(0).split("\\|"), lines.get(1).split("\\|")};
        Set<String> executors = new HashSet<>(List.of(r[0][1], r[1][1]));
        assertThat(executors).as("the ranks ran on two executor JVMs").hasSize(2).doesNotContain("driver");
        String pids = r[0][2] + "," + r[1][2];
        assertThat(r[0][2]).as("two processes").isNotEqualTo(r[1][2]);
        for (int rank = 0; rank < 2; rank++) {
            assertThat(r[rank][0]).isEqualTo(Integer.toString(rank));
            assertThat(r[rank][4]).as("rank %d's allreduce: (1 + 2), (10 + 20)", rank).isEqualTo("3.0,30.0");
            assertThat(r[rank][5]).as("rank %d's allgather of the process ids, in rank order", rank).isEqualTo(pids);
        }
        assertThat(state.ncclGroupsKept()).as("the driver forgets the id once every rank has it").isZero();
    }
}
