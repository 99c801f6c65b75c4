package io.stoker.llm.parallel;

import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.comm.Communicator;
import io.stoker.runtime.comm.NcclCommunicator;
import io.stoker.runtime.cuda.CudaActors;
import io.stoker.runtime.cuda.CudaDeviceConfig;

import java.util.List;

/**
 * Creates {@link ParallelExecutor}'s workers on GPUs: one GPU actor per worker, its device opened on the actor's
 * thread, and the tensor-parallel group's {@link NcclCommunicator}. Named only when the backend is CUDA, so CPU
 * executors never load a CUDA class.
 */
final class GpuWorkers {
    private GpuWorkers() {
    }

    /** A GPU actor (one of the runtime's GPU ids) holding a {@link ShardWorker} on its device. */
    static ActorHandle<ShardWorker> spawn(StokerRuntime rt, String name) {
        return rt.createActor(ActorSpec.of(name, CudaActors.onDevice(CudaDeviceConfig.defaults(),
                (ctx, device) -> ShardWorker.onDevice(device))).withGpus(1));
    }

    /** The NCCL communicator of {@code ranks}; each joins it on its own thread in {@link ShardWorker#init}. */
    static Communicator communicator(String name, List<ActorHandle<ShardWorker>> ranks) {
        return NcclCommunicator.create(name, ranks);
    }
}
