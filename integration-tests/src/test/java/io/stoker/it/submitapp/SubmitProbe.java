package io.stoker.it.submitapp;

/**
 * Prints, as one line, what the driver JVM that {@code bin/stoker submit} started was given: the system
 * properties {@code stoker.it.opt} and {@code stoker.it.conf} and the max heap. Starts no Spark.
 */
public final class SubmitProbe {
    private SubmitProbe() {
    }

    public static void main(String[] args) {
        System.out.println("probe opt=[" + System.getProperty("stoker.it.opt") + "] conf=["
                + System.getProperty("stoker.it.conf") + "] maxHeapMb=" + (Runtime.getRuntime().maxMemory() >> 20));
    }
}
