package io.stoker.runtime.cuda;

/**
 * A point in a stream: other streams can wait for it, the host can wait for or poll it, and two timing events give
 * the device time between them.
 *
 * <p>Thread-safety: owner thread of the device only.
 */
public final class CudaEvent implements AutoCloseable {
    private static final int CU_EVENT_DISABLE_TIMING = 2;

    private final CudaDevice device;
    private final long handle;
    private final boolean timing;
    private boolean closed;

    CudaEvent(CudaDevice device, boolean timing) {
        this.device = device;
        this.timing = timing;
        this.handle = CudaNative.eventCreate(timing ? 0 : CU_EVENT_DISABLE_TIMING);
    }

    long handle() {
        if (closed) {
            throw new IllegalStateException("event is closed");
        }
        return handle;
    }

    public void record(CudaStream stream) {
        device.checkThread();
        CudaNative.eventRecord(handle(), stream.handle());
    }

    public void synchronize() {
        device.checkThread();
        CudaNative.eventSynchronize(handle());
    }

    /** @return true once the work before the recorded point has run */
    public boolean isDone() {
        device.checkThread();
        return CudaNative.eventQuery(handle());
    }

    /** @return milliseconds of device time from {@code start} to this event; both must have completed */
    public float elapsedMillis(CudaEvent start) {
        device.checkThread();
        if (!timing || !start.timing) {
            throw new IllegalStateException("elapsed time needs two timing events (CudaDevice.newEvent)");
        }
        return CudaNative.eventElapsedTime(start.handle(), handle());
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        device.checkThread();
        closed = true;
        device.untrack(this);
        CudaNative.eventDestroy(handle);
    }
}
