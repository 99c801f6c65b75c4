package io.stoker.it;

import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorAdded;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * An eager actor pool whose class does not load, on a real cluster (local-cluster: executor JVMs started by a
 * worker). Every executor fails at startup; before Stoker reported that to the driver, the worker started
 * replacements forever and the application's jobs waited forever. Now the job fails within seconds naming the
 * pool and its cause, later jobs fail the same way, and no more executors are started.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class EagerPoolFailureClusterTest {
    private static final String MISSING = "io.stoker.it.NoSuchActorClass";

    @Test
    void shouldFailTheApplicationWithThePoolsMessageInsteadOfRelaunchingExecutorsForever() throws Exception {
        SparkSession spark = Clusters.start("local-cluster[1,1,1024]", "EagerPoolFailureClusterTest", Map.of(
                "spark.stoker.pool.ghost.class", MISSING,
                "spark.stoker.pool.ghost.eager", "true"));
        AtomicInteger executorsAdded = new AtomicInteger();
        spark.sparkContext().addSparkListener(new SparkListener() {
            @Override
            public void onExecutorAdded(SparkListenerExecutorAdded e) {
                executorsAdded.incrementAndGet();
            }
        });
        try {
            long t0 = System.nanoTime();
            CompletableFuture<Long> job = CompletableFuture.supplyAsync(() -> spark.range(0, 100, 1, 2).count());
            Throwable failed = catchThrowable(() -> job.get(150, TimeUnit.SECONDS));
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
            assertThat(failed).as("the job fails (instead of waiting for executors) within 150 s")
                    .isInstanceOf(ExecutionException.class);
            assertThat(failed.getCause())
                    .hasMessageContaining("because Stoker could not start on executor")
                    .hasMessageContaining("actor pool 'ghost'")
                    .hasMessageContaining("actor class " + MISSING + " cannot be loaded");
            System.out.println("EagerPoolFailureClusterTest: first job failed after " + seconds + " s");

            assertThatThrownBy(() -> spark.range(0, 10, 1, 1).count())
                    .as("a later job fails with the same cause")
                    .hasMessageContaining("actor class " + MISSING + " cannot be loaded");

            int before = executorsAdded.get();
            Thread.sleep(10_000);
            assertThat(executorsAdded.get()).as("executors started in the 10 s after the failure").isEqualTo(before);
        } finally {
            spark.stop();
        }
    }
}
