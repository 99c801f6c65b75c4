package io.stoker.runtime.cuda;

/**
 * Test access to the CUDA simulator's fault injection from inside an executor (tasks call it): arms or disarms
 * {@code inject_launch_error} in this process (docs/cuda.md, "Fault injection"). Simulator only.
 */
public final class SimulatorFaults {
    private SimulatorFaults() {
    }

    /** @param rule {@code KERNEL:N:CODE}, or "" to disarm; the marker option is cleared so the rule fires here */
    public static void arm(String rule) {
        if (!Cuda.isSimulated() || !Cuda.isAvailable()) {
            throw new IllegalStateException("fault injection needs the CUDA simulator (-Dstoker.cuda=sim)");
        }
        CudaNative.simSetOption("inject_launch_error_marker", "");
        CudaNative.simSetOption("inject_launch_error", rule);
    }
}
