package io.stoker.it;

import io.stoker.runtime.cuda.Nccl;
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
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * NCCL ids for a group spanning executors, through the driver plugin over Spark's real RPC: a barrier stage puts
 * rank 0 and rank 1 of one group on the two executor JVMs of a local cluster; rank 0 creates the id with the CUDA
 * simulator's {@code ncclGetUniqueId} (a test double: no GPU here; the executors load it through
 * {@code spark.executor.extraJavaOptions}) and publishes it, rank 1 fetches it, and both must hold the same 128
 * bytes, which only rank 0's executor made. Afterwards the driver has forgotten the id.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class NcclIdClusterTest {
    private static SparkSession spark;

    @BeforeAll
    static void start() {
        Path sim = Path.of(System.getProperty("stoker.it.cudaSimLibrary",
                "../gpu-runtime/target/cudasim/libstoker-cudasim.so")).toAbsolutePath().normalize();
        assertThat(Files.isRegularFile(sim)).as("the CUDA simulator %s (built by gpu-runtime's test build: run this"
                + " module with -am)", sim).isTrue();
        spark = Clusters.start(Clusters.LOCAL_CLUSTER, "NcclIdClusterTest", Map.of(
                "spark.executor.extraJavaOptions",
                "-XX:TieredStopAtLevel=1 -Dstoker.cuda=sim -Dstoker.cuda.sim.library=" + sim));
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    /** One rank per partition: joins group "it-pair" through the driver and reports what it got. */
    static final class Rank extends AbstractFunction1<scala.collection.Iterator<Integer>,
            scala.collection.Iterator<String>> implements Serializable {
        private final String session;

        Rank(String session) {
            this.session = session;
        }

        @Override
        public scala.collection.Iterator<String> apply(scala.collection.Iterator<Integer> rows) {
            int rank = TaskContext.getPartitionId();
            byte[] id = DriverNcclIdExchange.current(session).exchange("it-pair", rank, 2, Nccl::uniqueId, 30_000);
            String line = rank + "|" + SparkEnv.get().executorId() + "|" + Base64.getEncoder().encodeToString(id);
            return CollectionConverters.asScala(List.of(line).iterator());
        }
    }

    @Test
    void shouldHandRankZerosSimulatedNcclIdToRankOneOnAnotherExecutorThroughTheDriver() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (spark.sparkContext().statusTracker().getExecutorInfos().length < 3) {
            assertThat(System.nanoTime()).as("2 executors within 60 s").isLessThan(deadline);
            Thread.sleep(100);
        }
        DriverState state = DriverState.forContext(spark.sparkContext());
        ClassTag<String> tag = ClassTag$.MODULE$.apply(String.class);
        List<String> lines = spark.sparkContext().parallelize(CollectionConverters.asScala(List.of(0, 1)).toSeq(), 2,
                        ClassTag$.MODULE$.apply(Integer.class))
                .barrier().mapPartitions(new Rank(state.session()), false, tag)
                .toJavaRDD().collect();

        assertThat(lines).hasSize(2);
        String[] r0 = lines.get(0).split("\\|");
        String[] r1 = lines.get(1).split("\\|");
        assertThat(r0[0]).isEqualTo("0");
        assertThat(r1[0]).isEqualTo("1");
        Set<String> executors = new HashSet<>(List.of(r0[1], r1[1]));
        assertThat(executors).as("the ranks ran on two executor JVMs").hasSize(2).doesNotContain("driver");
        byte[] id0 = Base64.getDecoder().decode(r0[2]);
        byte[] id1 = Base64.getDecoder().decode(r1[2]);
        assertThat(id0).as("an ncclUniqueId").hasSize(128);
        assertThat(new String(id0, 0, 13, StandardCharsets.US_ASCII)).as("made by the simulator's ncclGetUniqueId"
                + " in rank 0's executor").isEqualTo("cudasim-nccl-");
        assertThat(id1).as("rank 1 on executor " + r1[1] + " got rank 0's id (executor " + r0[1] + ")")
                .isEqualTo(id0);
        assertThat(state.ncclGroupsKept()).as("the driver forgets the id once every rank has it").isZero();
    }
}
