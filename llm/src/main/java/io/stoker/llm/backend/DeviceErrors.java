package io.stoker.llm.backend;

/**
 * Classifies errors a device backend throws. A fatal device error (a CUDA "sticky" error: illegal address, launch
 * failure, uncorrectable ECC, ...) leaves the device unusable for this process: the engine dies at once (every request
 * fails) instead of failing one step's requests, and a Spark executor exits so its work is rescheduled. Other errors
 * (a device out-of-memory, bad input) fail only the requests of the step that hit them.
 */
public final class DeviceErrors {
    private DeviceErrors() {
    }

    /** @return true when {@code t} or one of its causes is a fatal CUDA error */
    public static boolean isFatal(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof io.stoker.runtime.cuda.CudaException e && e.isFatal()) {
                return true;
            }
        }
        return false;
    }
}
