package io.stoker.llm.parallel;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.backend.Backends;
import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.ModelExecutor;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.model.Partition;
import io.stoker.llm.runner.RunnerOutput;
import io.stoker.llm.runner.StepPlan;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.comm.Communicator;
import io.stoker.runtime.comm.CpuCommunicator;
import io.stoker.runtime.graph.CompiledGraph;
import io.stoker.runtime.graph.GraphBuilder;
import io.stoker.runtime.graph.GraphOptions;
import io.stoker.runtime.graph.InputNode;
import io.stoker.runtime.graph.Node;
import io.stoker.runtime.graph.TensorTransport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs a model split over actors as one compiled graph per engine step. Each actor holds a
 * {@link io.stoker.llm.runner.ModelRunner} for its partition and receives the step's {@link StepPlan}:
 * <ul>
 *   <li>{@link #tensorParallel}: {@code world} shard actors all run the plan; q/k/v, gate and up are column-split, o
 *       and down row-split with an allreduce over a {@link CpuCommunicator} inside the layer, the LM head
 *       column-split and all-gathered. Every rank samples the same logits with the same seeds; rank 0's tokens are
 *       used.</li>
 *   <li>{@link #pipelineParallel}: {@code stages} actors each own a range of layers; activations travel to the next
 *       stage over the graph's channels, and the last stage samples.</li>
 * </ul>
 * Every worker holds the same number of KV blocks (for its heads or layers), so the engine's one block table serves
 * them all.
 *
 * <p><b>On GPUs.</b> With a CUDA backend ({@code EngineConfig.backend} {@code cuda}) every worker is a GPU actor on
 * one of the runtime's GPU ids ({@code RuntimeConfig.withGpuIds}; one each, so the runtime needs {@code world} or
 * {@code stages} of them), computing with a {@code CudaBackend} on its device; tensor-parallel ranks communicate over
 * an {@code NcclCommunicator} instead of the {@link CpuCommunicator}, so the layers' allreduce and allgather run on
 * device memory; pipeline stages pass their hidden states as device arrays over GPU channels of the graph
 * ({@link TensorTransport#AUTO}: a peer copy between two GPUs of this process). The partitions and the scheduler are
 * the same.
 *
 * <p>Thread-safety: {@link #execute} is called by the engine thread only.
 */
public final class ParallelExecutor implements ModelExecutor {
    private static final Logger LOG = LoggerFactory.getLogger(ParallelExecutor.class);
    private static final AtomicLong IDS = new AtomicLong();

    private final List<ActorHandle<ShardWorker>> actors;
    private final Communicator comm;
    private final CompiledGraph<StepPlan, ?> graph;
    private final boolean multi;
    private final boolean pipeline;
    private final int numBlocks;

    private ParallelExecutor(List<ActorHandle<ShardWorker>> actors, Communicator comm,
                             CompiledGraph<StepPlan, ?> graph, boolean multi, boolean pipeline, int numBlocks) {
        this.actors = actors;
        this.comm = comm;
        this.graph = graph;
        this.multi = multi;
        this.pipeline = pipeline;
        this.numBlocks = numBlocks;
    }

    private static List<ActorHandle<ShardWorker>> spawn(StokerRuntime rt, String prefix, int n, EngineConfig cfg) {
        boolean gpu = onGpus(cfg);
        if (gpu && rt.config().gpuIds().size() < n) {
            throw new IllegalArgumentException(n + " workers on the CUDA backend need " + n + " GPUs, but runtime '"
                    + rt.config().name() + "' has " + rt.config().gpuIds().size() + " GPU id(s) "
                    + rt.config().gpuIds() + "; create it with RuntimeConfig.withGpuIds (one GPU per worker)");
        }
        List<ActorHandle<ShardWorker>> hs = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                hs.add(gpu ? GpuWorkers.spawn(rt, prefix + "-" + i)
                        : rt.createActor(ActorSpec.of(prefix + "-" + i, ctx -> new ShardWorker())));
            }
        } catch (RuntimeException e) {
            hs.forEach(ActorHandle::close);
            throw e;
        }
        return hs;
    }

    /**
     * @return true when the workers run on GPUs: the backend is {@code cuda}
     * @throws IllegalArgumentException for {@code cuda:ADDRESS}: the workers' devices come from the runtime
     */
    private static boolean onGpus(EngineConfig cfg) {
        String b = cfg.backend();
        if (!Backends.isCuda(b)) {
            return false;
        }
        if (!b.equals("cuda")) {
            throw new IllegalArgumentException("backend=" + b + ": tensor- and pipeline-parallel workers take one GPU"
                    + " each from the runtime's GPU ids (RuntimeConfig.withGpuIds); use backend=cuda");
        }
        return true;
    }

    /**
     * Initializes every worker at once (tensor-parallel GPU ranks meet when they join NCCL); on failure closes the
     * communicator (so waiting ranks fail) and the actors.
     */
    private static void init(List<ActorHandle<ShardWorker>> hs, List<ShardWorker.Init> inits, Communicator comm) {
        List<java.util.concurrent.CompletableFuture<Boolean>> fs = new ArrayList<>();
        for (int i = 0; i < hs.size(); i++) {
            fs.add(hs.get(i).call(ShardWorker::init, inits.get(i)));
        }
        try {
            for (java.util.concurrent.CompletableFuture<Boolean> f : fs) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while loading model shards", e);
        } catch (ExecutionException e) {
            if (comm != null) {
                comm.close();
            }
            hs.forEach(ActorHandle::close);
            Throwable c = e.getCause() != null && e.getCause().getCause() != null ? e.getCause().getCause() : e.getCause();
            if (c instanceof RuntimeException) {
                throw (RuntimeException) c;
            }
            throw new IllegalStateException("loading a model shard failed: " + c, c);
        }
    }

    /**
     * Tensor parallelism over {@code world} actors of {@code rt} (GPU actors with a {@code cuda} backend).
     *
     * @throws io.stoker.llm.load.ModelFormatException when heads, KV heads or FFN width do not divide by world
     */
    public static ParallelExecutor tensorParallel(StokerRuntime rt, LoadedModel m, EngineConfig cfg, int world) {
        long id = IDS.incrementAndGet();
        int numBlocks = cfg.kvBlocks(m.config());
        List<ActorHandle<ShardWorker>> hs = spawn(rt, "tp" + id + "-rank", world, cfg);
        Communicator comm = onGpus(cfg) ? GpuWorkers.communicator("tp" + id, hs)
                : CpuCommunicator.create("tp" + id, hs);
        List<ShardWorker.Init> inits = new ArrayList<>();
        int threads = Math.max(1, cfg.threads() / world);
        for (int r = 0; r < world; r++) {
            inits.add(new ShardWorker.Init(m, Partition.tensorShard(r, world, m.config().numHiddenLayers()), comm,
                    cfg.runnerConfig(numBlocks, threads)));
        }
        init(hs, inits, comm);
        GraphBuilder g = GraphBuilder.on(rt, "tp" + id);
        InputNode<StepPlan> in = g.input();
        List<Node<RunnerOutput>> outs = new ArrayList<>();
        for (ActorHandle<ShardWorker> h : hs) {
            outs.add(g.bind(h, ShardWorker::step, in));
        }
        CompiledGraph<StepPlan, ?> cg = world == 1 ? g.compile(outs.get(0))
                : g.compileMulti(GraphOptions.defaults().withName("tp" + id), outs.toArray(new Node<?>[0]));
        LOG.info("tensor-parallel executor tp{}: {} shards on {}, {} KV blocks each", id, world, cfg.backend(),
                numBlocks);
        return new ParallelExecutor(hs, comm, cg, world > 1, false, numBlocks);
    }

    /**
     * Pipeline parallelism: {@code stages} actors of {@code rt} (GPU actors with a {@code cuda} backend), each with a
     * contiguous range of layers.
     */
    public static ParallelExecutor pipelineParallel(StokerRuntime rt, LoadedModel m, EngineConfig cfg, int stages) {
        long id = IDS.incrementAndGet();
        int layers = m.config().numHiddenLayers();
        if (stages < 2) {
            throw new IllegalArgumentException("a pipeline needs at least 2 stages, got " + stages);
        }
        int numBlocks = cfg.kvBlocks(m.config());
        List<ActorHandle<ShardWorker>> hs = spawn(rt, "pp" + id + "-stage", stages, cfg);
        List<ShardWorker.Init> inits = new ArrayList<>();
        int threads = Math.max(1, cfg.threads() / stages);
        for (int s = 0; s < stages; s++) {
            inits.add(new ShardWorker.Init(m, Partition.pipelineStage(s, stages, layers), null,
                    cfg.runnerConfig(numBlocks, threads)));
        }
        init(hs, inits, null);
        GraphBuilder g = GraphBuilder.on(rt, "pp" + id);
        InputNode<StepPlan> in = g.input();
        Node<RunnerOutput> out;
        if (onGpus(cfg)) {
            // hidden states stay in device memory: each edge is a GPU channel (a peer copy between the stages' GPUs)
            Node<io.stoker.runtime.cuda.DeviceArray> act = g.bind(hs.get(0), ShardWorker::firstOnDevice, in)
                    .withTensorTransport(TensorTransport.AUTO);
            for (int s = 1; s < stages - 1; s++) {
                act = g.bind(hs.get(s), ShardWorker::middleOnDevice, in, act)
                        .withTensorTransport(TensorTransport.AUTO);
            }
            out = g.bind(hs.get(stages - 1), ShardWorker::lastOnDevice, in, act);
        } else {
            Node<ShardWorker.StageActivations> act = g.bind(hs.get(0), ShardWorker::first, in);
            for (int s = 1; s < stages - 1; s++) {
                act = g.bind(hs.get(s), ShardWorker::middle, act);
            }
            out = g.bind(hs.get(stages - 1), ShardWorker::last, act);
        }
        CompiledGraph<StepPlan, RunnerOutput> cg = g.compile(out);
        LOG.info("pipeline executor pp{}: {} stages on {}, {} KV blocks each", id, stages, cfg.backend(), numBlocks);
        return new ParallelExecutor(hs, null, cg, false, true, numBlocks);
    }

    @Override
    public RunnerOutput execute(StepPlan plan) {
        Object r = graph.execute(plan).get();
        if (multi) {
            return (RunnerOutput) ((List<?>) r).get(0);
        }
        return (RunnerOutput) r;
    }

    /**
     * Diagnostics: the batch through every worker with eager actor calls (all tensor-parallel ranks at once, since
     * they meet in collectives; pipeline stages in order); rank 0's or the last stage's logits.
     */
    @Override
    public float[] logits(ForwardBatch batch) {
        try {
            if (pipeline) {
                float[] h = null;
                for (ActorHandle<ShardWorker> a : actors) {
                    h = a.call(ShardWorker::forward, batch, h).get();
                }
                return h;
            }
            List<java.util.concurrent.CompletableFuture<float[]>> fs = new ArrayList<>();
            for (ActorHandle<ShardWorker> a : actors) {
                fs.add(a.call(ShardWorker::forward, batch, (float[]) null));
            }
            float[] first = null;
            for (java.util.concurrent.CompletableFuture<float[]> f : fs) {
                float[] l = f.get();
                first = first == null ? l : first;
            }
            return first;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running a diagnostic batch", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("diagnostic batch failed: " + e.getCause(), e.getCause());
        }
    }

    /**
     * @return the tensor-parallel group's communicator ({@code CpuCommunicator} on CPU actors, {@code NcclCommunicator}
     * on GPU actors), or null for a pipeline
     */
    public Communicator communicator() {
        return comm;
    }

    /** @return the step graph's per-actor schedules and channels in Graphviz DOT (diagnostics; GPU channels named) */
    public String scheduleToDot() {
        return graph.scheduleToDot();
    }

    @Override
    public int numBlocks() {
        return numBlocks;
    }

    /** Closes the graph, the communicator and the actors (in reverse order of creation). Idempotent. */
    @Override
    public void close() {
        graph.close();
        if (comm != null) {
            comm.close();
        }
        for (int i = actors.size() - 1; i >= 0; i--) {
            actors.get(i).close();
        }
    }
}
