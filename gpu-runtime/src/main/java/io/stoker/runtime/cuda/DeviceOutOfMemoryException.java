package io.stoker.runtime.cuda;

/**
 * Device memory could not be had: the pool's byte budget is spent, or the device itself is full. The message names
 * the requested size and what was free.
 */
public final class DeviceOutOfMemoryException extends CudaException {
    private static final long serialVersionUID = 1L;

    DeviceOutOfMemoryException(String message, String call) {
        super(message, "driver", call, CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY");
    }
}
