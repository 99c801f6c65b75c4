package io.stoker.runtime.cuda;

import io.stoker.runtime.comm.ReduceOp;

/**
 * One rank of an NCCL communicator, bound to its device's thread. Every operation is queued on a stream, in
 * order; all ranks must issue the same collectives in the same order (the simulator checks it and fails every
 * rank naming the mismatch).
 *
 * <p>Thread-safety: owner thread of the device only.
 */
public final class NcclComm implements AutoCloseable {
    private final CudaDevice device;
    private final long handle;
    private boolean closed;

    NcclComm(CudaDevice device, long handle) {
        this.device = device;
        this.handle = handle;
    }

    private long h() {
        device.checkThread();
        if (closed) {
            throw new IllegalStateException("NCCL communicator is closed");
        }
        return handle;
    }

    private static int op(ReduceOp op) {
        return switch (op) {
            case SUM -> 0;
            case PROD -> 1;
            case MAX -> 2;
            case MIN -> 3;
        };
    }

    public CudaDevice device() {
        return device;
    }

    public int rank() {
        return CudaNative.ncclCommUserRank(h());
    }

    public int size() {
        return CudaNative.ncclCommCount(h());
    }

    /** @return the asynchronous error NCCL recorded (0 = none) */
    public int asyncError() {
        return CudaNative.ncclCommGetAsyncError(h());
    }

    /** {@code recv[i] = op over ranks of send[i]}, {@code count} elements. */
    public void allReduce(DeviceBuffer send, DeviceBuffer recv, long count, CudaDataType type, ReduceOp op,
                          CudaStream s) {
        CudaNative.ncclAllReduce(send.address(), recv.address(), count, type.ncclCode(), op(op), h(), s.handle());
    }

    /** {@code recv = send of rank 0 | send of rank 1 | ...}, {@code sendCount} elements each. */
    public void allGather(DeviceBuffer send, DeviceBuffer recv, long sendCount, CudaDataType type, CudaStream s) {
        CudaNative.ncclAllGather(send.address(), recv.address(), sendCount, type.ncclCode(), h(), s.handle());
    }

    /** {@code recv = (op over ranks of send)[rank * recvCount, (rank + 1) * recvCount)}. */
    public void reduceScatter(DeviceBuffer send, DeviceBuffer recv, long recvCount, CudaDataType type, ReduceOp op,
                              CudaStream s) {
        CudaNative.ncclReduceScatter(send.address(), recv.address(), recvCount, type.ncclCode(), op(op), h(),
                s.handle());
    }

    /** {@code recv = send of root}. */
    public void broadcast(DeviceBuffer send, DeviceBuffer recv, long count, CudaDataType type, int root,
                          CudaStream s) {
        CudaNative.ncclBroadcast(send.address(), recv.address(), count, type.ncclCode(), root, h(), s.handle());
    }

    public void send(DeviceBuffer buf, long count, CudaDataType type, int peer, CudaStream s) {
        CudaNative.ncclSend(buf.address(), count, type.ncclCode(), peer, h(), s.handle());
    }

    public void recv(DeviceBuffer buf, long count, CudaDataType type, int peer, CudaStream s) {
        CudaNative.ncclRecv(buf.address(), count, type.ncclCode(), peer, h(), s.handle());
    }

    /** Aborts the communicator without waiting for its queued operations (after a peer failed or left). */
    public void abort() {
        if (closed) {
            return;
        }
        device.checkThread();
        closed = true;
        device.untrack(this);
        CudaNative.ncclCommAbort(handle);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        device.checkThread();
        closed = true;
        device.untrack(this);
        CudaNative.ncclCommDestroy(handle);
    }
}
