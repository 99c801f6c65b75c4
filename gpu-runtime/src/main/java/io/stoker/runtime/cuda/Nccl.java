package io.stoker.runtime.cuda;

/**
 * NCCL through the shim ({@code libnccl.so.2}, loaded on first use; on the simulator, ranks are threads of this
 * process or, when {@code initRank} finds them in several processes, processes sharing memory). Issue 13 builds its
 * GPU {@code Communicator} on {@link NcclComm}.
 */
public final class Nccl {
    private Nccl() {
    }

    /** @return NCCL's version code, e.g. 22800 for 2.28.0 */
    public static int version() {
        Cuda.load(CudaLibrary.NCCL);
        return CudaNative.ncclVersion();
    }

    /** A new communicator id (128 bytes) for rank 0 to hand to the other ranks. */
    public static byte[] uniqueId() {
        Cuda.load(CudaLibrary.NCCL);
        return CudaNative.ncclGetUniqueId();
    }

    /**
     * Joins rank {@code rank} of {@code nranks} on {@code device}'s thread; returns once every rank has joined.
     */
    public static NcclComm initRank(CudaDevice device, int nranks, byte[] uniqueId, int rank) {
        device.checkThread();
        Cuda.load(CudaLibrary.NCCL);
        if (uniqueId == null || uniqueId.length != Cuda.ncclUniqueIdSize()) {
            throw new IllegalArgumentException("an NCCL unique id has " + Cuda.ncclUniqueIdSize() + " bytes");
        }
        if (rank < 0 || rank >= nranks) {
            throw new IllegalArgumentException("rank " + rank + " is outside [0, " + nranks + ")");
        }
        return device.track(new NcclComm(device, CudaNative.ncclCommInitRank(nranks, uniqueId, rank)));
    }

    /** Starts a group: sends and receives until {@link #groupEnd()} are issued together (no deadlock). */
    public static void groupStart() {
        CudaNative.ncclGroupStart();
    }

    public static void groupEnd() {
        CudaNative.ncclGroupEnd();
    }
}
