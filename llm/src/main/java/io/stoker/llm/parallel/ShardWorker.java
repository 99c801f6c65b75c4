package io.stoker.llm.parallel;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.model.Partition;
import io.stoker.llm.runner.ModelRunner;
import io.stoker.llm.runner.RunnerOutput;
import io.stoker.llm.runner.StepPlan;
import io.stoker.runtime.comm.Communicator;

/**
 * Actor state that runs one {@link Partition} of a model (a tensor-parallel shard, a pipeline stage, or both) with a
 * {@link ModelRunner}. Created empty by the actor factory, then {@link #init}ialized once the communicator (which
 * needs every member's handle) exists. Its methods are bound as compiled-graph tasks; each receives the step's
 * {@link StepPlan}.
 *
 * <p>On a GPU actor ({@link #onDevice}) the runner computes with a {@code CudaBackend} on the actor's device, and a
 * tensor-parallel shard joins the {@code NcclCommunicator} on its thread, so activations stay on the device and the
 * layers' allreduce and allgather are NCCL collectives.
 *
 * <p>Thread-safety: the runtime calls it on its actor's thread only.
 */
public final class ShardWorker implements AutoCloseable {
    /** What a shard needs: the shared (memory-mapped) model, its partition, communicator and runner settings. */
    public record Init(LoadedModel model, Partition partition, Communicator comm, ModelRunner.Config runner) {
    }

    /** Hidden states passed between pipeline stages, with the plan they belong to. */
    public record StageActivations(StepPlan plan, float[] hidden) {
    }

    private final GpuShard gpu; // null on a CPU actor
    private ModelRunner runner;

    /** A shard on a CPU actor: the runner's backend is the one {@code Init.runner().backend()} names. */
    public ShardWorker() {
        this.gpu = null;
    }

    private ShardWorker(GpuShard gpu) {
        this.gpu = gpu;
    }

    /**
     * A shard on a GPU actor that owns {@code device} (opened on the actor's thread; the shard closes it): the runner
     * computes with a CUDA backend on it.
     */
    public static ShardWorker onDevice(io.stoker.runtime.cuda.CudaDevice device) {
        return new ShardWorker(new GpuShard(device));
    }

    /** Builds the model partition, its KV cache and sampler; returns true. */
    public Boolean init(Init in) {
        if (gpu == null) {
            runner = new ModelRunner(in.model(), in.partition(), in.comm(), in.runner());
        } else {
            runner = new ModelRunner(in.model(), in.partition(), in.comm(), in.runner(),
                    gpu.open(in.comm(), in.partition().rank()));
        }
        return Boolean.TRUE;
    }

    /** The whole stack (tensor-parallel shard): forward pass and sampling; every rank returns the same tokens. */
    public RunnerOutput step(StepPlan plan) {
        return runner.execute(plan);
    }

    /** First pipeline stage: embeds and runs its layers. */
    public StageActivations first(StepPlan plan) {
        return new StageActivations(plan, runner.executeStage(plan, null));
    }

    /** A middle pipeline stage. */
    public StageActivations middle(StageActivations in) {
        return new StageActivations(in.plan(), runner.executeStage(in.plan(), in.hidden()));
    }

    /** Last pipeline stage: its layers, the final norm, the LM head and sampling. */
    public RunnerOutput last(StageActivations in) {
        return runner.executeLastStage(in.plan(), in.hidden());
    }

    /**
     * First pipeline stage on a GPU actor: the hidden states stay in device memory and travel to the next stage's GPU
     * over the graph's GPU channel (a peer copy), not through the host.
     */
    public io.stoker.runtime.cuda.DeviceArray firstOnDevice(StepPlan plan) {
        return gpu().stage(runner, plan, null);
    }

    /** A middle pipeline stage on a GPU actor; takes ownership of {@code hidden} (on this actor's device). */
    public io.stoker.runtime.cuda.DeviceArray middleOnDevice(StepPlan plan, io.stoker.runtime.cuda.DeviceArray hidden) {
        return gpu().stage(runner, plan, hidden);
    }

    /** Last pipeline stage on a GPU actor; takes ownership of {@code hidden} (on this actor's device). */
    public RunnerOutput lastOnDevice(StepPlan plan, io.stoker.runtime.cuda.DeviceArray hidden) {
        return gpu().last(runner, plan, hidden);
    }

    private GpuShard gpu() {
        if (gpu == null) {
            throw new IllegalStateException("this shard runs on a CPU actor; the *OnDevice stages need a GPU actor"
                    + " (ShardWorker.onDevice)");
        }
        return gpu;
    }

    /**
     * Diagnostics: a raw batch through this partition; logits {@code (logit tokens, vocab)} on the last stage, hidden
     * states {@code (tokens, hidden)} before it.
     */
    public float[] forward(ForwardBatch b, float[] hiddenIn) {
        return runner.forwardToHost(b, hiddenIn);
    }

    @Override
    public void close() {
        try {
            if (runner != null) {
                runner.close();
            }
        } finally {
            if (gpu != null) {
                gpu.close();
            }
        }
    }
}
