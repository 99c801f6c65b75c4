package io.stoker.llm.parallel;

import io.stoker.llm.backend.Activation;
import io.stoker.llm.backend.Backend;
import io.stoker.llm.backend.cuda.CudaBackend;
import io.stoker.llm.runner.ModelRunner;
import io.stoker.llm.runner.RunnerOutput;
import io.stoker.llm.runner.StepPlan;
import io.stoker.runtime.comm.Communicator;
import io.stoker.runtime.comm.NcclCommunicator;
import io.stoker.runtime.cuda.CudaDataType;
import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.DeviceArray;

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
    private CudaBackend backend;

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
        backend = new CudaBackend(device, false);
        return backend;
    }

    /**
     * A pipeline stage before the last, on the device: {@code in} (the previous stage's hidden states, moved here by
     * the graph's GPU channel; null on the first stage) is copied into the model's input and freed, and the stage's
     * output is returned as a new device array for the channel to the next stage (one placeholder value when the plan
     * schedules nothing).
     */
    DeviceArray stage(ModelRunner runner, StepPlan plan, DeviceArray in) {
        try (in) {
            Activation h = runner.executeStageInBackend(plan, in == null ? null
                    : x -> backend.importRows(in, plan.numTokens(), x));
            return h == null ? DeviceArray.allocate(device, CudaDataType.F32, 1, "empty-stage")
                    : backend.exportRows(h, plan.numTokens());
        }
    }

    /** The last pipeline stage on the device: {@code in} as in {@link #stage}, then the LM head and sampling. */
    RunnerOutput last(ModelRunner runner, StepPlan plan, DeviceArray in) {
        try (in) {
            return runner.executeLastStageInBackend(plan, x -> backend.importRows(in, plan.numTokens(), x));
        }
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
