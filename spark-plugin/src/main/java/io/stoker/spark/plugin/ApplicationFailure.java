package io.stoker.spark.plugin;

import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fails a Spark application on the driver once an executor reports that Stoker could not start on it
 * ({@link ExecutorStartFailure}). On {@code local[N]} such a failure already fails SparkContext creation, since the
 * executor lives in the driver JVM; on a cluster the executor JVM exits and the cluster manager starts another,
 * which fails the same way, so without this the application would wait for executors forever.
 *
 * <p>From the first failure on: every running job and every job started later is cancelled with the failure as
 * the reason (so each action throws a {@code SparkException} naming the pool and its cause), and the cluster
 * manager is asked for zero executors, which ends the relaunch loop. The SparkContext stays up, so the next action
 * reports the same cause instead of "SparkContext was shut down"; stopping it is the application's job.
 *
 * <p>Thread-safety: {@link #onStartFailure} runs on RPC threads (it returns within about 10 s), the listener on
 * Spark's listener-bus thread; the first failure wins.
 */
final class ApplicationFailure extends SparkListener {
    private static final Logger LOG = LoggerFactory.getLogger(ApplicationFailure.class);
    private static final long RELEASE_WAIT_MILLIS = 10_000;

    private final SparkContext sc;
    private final DriverState state;

    ApplicationFailure(SparkContext sc, DriverState state) {
        this.sc = sc;
        this.state = state;
    }

    /** Records the failure (first one wins) and fails the application's jobs on a separate thread. */
    void onStartFailure(ExecutorStartFailure f) {
        String reason = "because Stoker could not start on executor " + f.executorId() + " (" + f.host() + "): "
                + f.message() + ". Every executor of this application would fail the same way, so the application"
                + " cannot run: fix the cause, then restart it";
        if (!state.fail(reason)) {
            LOG.warn("Stoker could not start on executor {} either: {}", f.executorId(), f.message());
            return;
        }
        LOG.error("Stoker is failing application {}: {}", sc.applicationId(), reason);
        // On its own thread (it waits on other RPC endpoints), but waited for, within a bound: the executor exits
        // once this returns, and the cluster manager should hear "zero executors" before it hears of that exit.
        Thread t = new Thread(this::releaseExecutorsAndFailJobs, "stoker-fail-application");
        t.setDaemon(true);
        t.start();
        try {
            t.join(RELEASE_WAIT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void releaseExecutorsAndFailJobs() {
        try {
            boolean ok = sc.requestTotalExecutors(0, 0, scala.collection.immutable.Map$.MODULE$.empty());
            if (!ok) {
                LOG.warn("the cluster manager did not accept Stoker's request for zero executors; it may keep"
                        + " starting executors that fail until the application stops");
            }
        } catch (RuntimeException e) {
            LOG.warn("could not ask the cluster manager for zero executors: {}", e.toString());
        }
        String reason = state.failure();
        for (int jobId : sc.statusTracker().getActiveJobIds()) {
            sc.cancelJob(jobId, reason);
        }
    }

    @Override
    public void onJobStart(SparkListenerJobStart jobStart) {
        String reason = state.failure();
        if (reason != null) {
            sc.cancelJob(jobStart.jobId(), reason);
        }
    }
}
