package io.stoker.llm.parallel;

import io.stoker.llm.backend.Backend;
import io.stoker.llm.backend.cuda.CudaBackend;
import io.stoker.runtime.comm.Communicator;
import io.stoker.runtime.comm.NcclCommunicator;
import io.stoker.runtime.cuda.CudaDevice;

/**
 * The device side of a {@link ShardWorker} on a GPU actor: the actor's {@link CudaDevice} (opened on the actor's
 * thread by {@code CudaActors.onDevice}), its rank's membership of the {@link NcclCommunicator}, and the
 * {@link CudaBackend} the shard's runner computes with. A class of its own so that CPU shards never load a CUDA
 * class.
 *
 * <p>Thread-safety: the owning actor's thread only (the device's owner thread).
 */
final class GpuShard {
    private final CudaDevice device;
    private NcclCommunicator joined;
    private int rank;

    GpuShard(CudaDevice device) {
        this.device = device;
    }

    /**
     * Joins {@code comm} as {@code rank} when it is an NCCL communicator (blocks until every rank has joined), then
     * builds a backend on the device that does not own it.
     *
     * @throws IllegalArgumentException when a tensor-parallel shard is given a communicator that is not NCCL
     */
    Backend open(Communicator comm, int rank) {
        if (comm != null) {
            if (!(comm instanceof NcclCommunicator nccl)) {
                throw new IllegalArgumentException("a tensor-parallel shard on a GPU needs an NcclCommunicator, got "
                        + comm.getClass().getSimpleName());
            }
            nccl.join(rank, device);
            this.joined = nccl;
            this.rank = rank;
        }
        return new CudaBackend(device, false);
    }

    /** Leaves the communicator (after the runner, and so the backend, is closed), then closes the device. */
    void close() {
        try {
            if (joined != null) {
                joined.leave(rank);
                joined = null;
            }
        } finally {
            device.close();
        }
    }
}
