package io.stoker.runtime.cuda;

import java.util.Set;

/**
 * A CUDA call failed: names the library ({@code driver}, {@code cublas}, {@code cublasLt}, {@code nvrtc},
 * {@code nccl}), the call (e.g. {@code cuMemAlloc}), the numeric code and its name (e.g.
 * {@code CUDA_ERROR_OUT_OF_MEMORY}).
 *
 * <p>{@link #isFatal()} marks the driver errors after which the context is unusable ("sticky" errors: an illegal
 * address, a failed launch, an uncorrectable ECC error...): the process should stop using the device, and a Spark
 * executor should exit so that its work is rescheduled.
 */
public class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Driver error codes that leave the context unusable. */
    private static final Set<Integer> STICKY = Set.of(214 /* ECC_UNCORRECTABLE */, 700 /* ILLEGAL_ADDRESS */,
            702 /* LAUNCH_TIMEOUT */, 709 /* CONTEXT_IS_DESTROYED */, 710 /* ASSERT */, 714 /* HARDWARE_STACK_ERROR */,
            715 /* ILLEGAL_INSTRUCTION */, 716 /* MISALIGNED_ADDRESS */, 717 /* INVALID_ADDRESS_SPACE */,
            718 /* INVALID_PC */, 719 /* LAUNCH_FAILED */, 999 /* UNKNOWN */);

    /** {@code CUDA_ERROR_OUT_OF_MEMORY}. */
    public static final int CUDA_ERROR_OUT_OF_MEMORY = 2;
    /** {@code CUDA_ERROR_INVALID_VALUE}. */
    public static final int CUDA_ERROR_INVALID_VALUE = 1;

    private final String library;
    private final String call;
    private final int code;
    private final String errorName;

    public CudaException(String library, String call, int code, String errorName, String description) {
        super(message(library, call, code, errorName, description));
        this.library = library;
        this.call = call;
        this.code = code;
        this.errorName = errorName;
    }

    protected CudaException(String message, String library, String call, int code, String errorName) {
        super(message);
        this.library = library;
        this.call = call;
        this.code = code;
        this.errorName = errorName;
    }

    private static String message(String library, String call, int code, String name, String description) {
        String text = call + " failed: " + name + " (" + library + " error " + code + ")";
        return description == null || description.isEmpty() ? text : text + ": " + description;
    }

    /** Called by the JNI shim. */
    static CudaException fromNative(String library, String call, int code, String errorName, String description) {
        if ("driver".equals(library) && code == CUDA_ERROR_OUT_OF_MEMORY) {
            return new DeviceOutOfMemoryException(message(library, call, code, errorName, description), call);
        }
        return new CudaException(library, call, code, errorName, description);
    }

    public String library() {
        return library;
    }

    public String call() {
        return call;
    }

    public int code() {
        return code;
    }

    public String errorName() {
        return errorName;
    }

    /** @return true for driver errors after which the context (and in practice the process) cannot use the device */
    public boolean isFatal() {
        return "driver".equals(library) && STICKY.contains(code);
    }
}
