package io.stoker.runtime.cuda;

/**
 * A non-blocking CUDA stream: work queued on it runs in order, asynchronously to the host and to other streams.
 *
 * <p>Thread-safety: owner thread of the device only.
 */
public final class CudaStream implements AutoCloseable {
    private static final int CU_STREAM_NON_BLOCKING = 1;

    private final CudaDevice device;
    private final long handle;
    private boolean closed;

    CudaStream(CudaDevice device) {
        this.device = device;
        this.handle = CudaNative.streamCreate(CU_STREAM_NON_BLOCKING);
    }

    public long handle() {
        if (closed) {
            throw new IllegalStateException("stream is closed");
        }
        return handle;
    }

    public CudaDevice device() {
        return device;
    }

    /** Waits until all queued work has run. @throws CudaException when some of it failed */
    public void synchronize() {
        device.checkThread();
        CudaNative.streamSynchronize(handle());
    }

    /** @return true when all queued work has run (does not wait) */
    public boolean isDone() {
        device.checkThread();
        return CudaNative.streamQuery(handle());
    }

    /** Makes work queued on this stream after this call wait for {@code event}. */
    public void waitFor(CudaEvent event) {
        device.checkThread();
        CudaNative.streamWaitEvent(handle(), event.handle());
    }

    /** Records {@code event} at this point of the stream. */
    public void record(CudaEvent event) {
        event.record(this);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        device.checkThread();
        closed = true;
        device.untrack(this);
        CudaNative.streamDestroy(handle);
    }
}
