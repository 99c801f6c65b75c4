package io.stoker.spark.llm;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What an executor does after a fatal CUDA error (a sticky error: illegal address, launch failure, uncorrectable ECC):
 * the device is unusable for the rest of the process, so, as spark-rapids does, the executor logs the cause and exits
 * with {@link #EXIT_CODE}; Spark then reschedules its tasks on other executors (and the cluster manager may start a
 * fresh executor). In local mode the executor is the driver, which is never exited: the engine is dropped and its
 * tasks fail.
 */
final class FatalDeviceErrorExit {
    /** The executor's exit status after a fatal CUDA error (distinct from Spark's own executor exit codes, 50-56). */
    static final int EXIT_CODE = 20;
    /** How long shutdown hooks may run before the process is halted. */
    private static final long HALT_AFTER_MILLIS = 30_000;
    private static final Logger LOG = LoggerFactory.getLogger(FatalDeviceErrorExit.class);

    private FatalDeviceErrorExit() {
    }

    /** Logs the error and, outside local mode, exits the executor JVM from another thread. */
    static void handle(String executorId, String device, Throwable cause) {
        if ("driver".equals(executorId)) {
            LOG.error("fatal CUDA error on {} in local mode: the LLM engine on it is dropped and its tasks fail;"
                    + " the driver is not exited", device, cause);
            return;
        }
        LOG.error("fatal CUDA error on {} of executor {}: the device is unusable for this process; exiting the"
                + " executor with code {} so that Spark reschedules its tasks", device, executorId, EXIT_CODE, cause);
        Thread exit = new Thread(() -> System.exit(EXIT_CODE), "stoker-fatal-device-exit");
        exit.setDaemon(true);
        Thread halt = new Thread(() -> {
            try {
                Thread.sleep(HALT_AFTER_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Runtime.getRuntime().halt(EXIT_CODE);
        }, "stoker-fatal-device-halt");
        halt.setDaemon(true);
        halt.start();
        exit.start();
    }
}
