package io.stoker.llm.parallel;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.ModelExecutor;
import io.stoker.llm.kv.KvCacheDescriptor;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.model.Partition;
import io.stoker.llm.model.llama.LlamaConfig;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.comm.CpuCommunicator;
import io.stoker.runtime.graph.CompiledGraph;
import io.stoker.runtime.graph.GraphBuilder;
import io.stoker.runtime.graph.GraphOptions;
import io.stoker.runtime.graph.InputNode;
import io.stoker.runtime.graph.Node;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs a model split over CPU actors as one compiled graph per engine step:
 * <ul>
 *   <li>{@link #tensorParallel}: {@code world} shard actors all take the step's batch; q/k/v, gate and up are
 *       column-split, o and down row-split with an allreduce over a {@link CpuCommunicator} inside the layer, the LM
 *       head column-split and all-gathered. Every rank returns the full logits; rank 0's are used.</li>
 *   <li>{@link #pipelineParallel}: {@code stages} actors each own a range of layers; activations travel to the next
 *       stage over the graph's channels.</li>
 * </ul>
 * Every worker holds the same number of KV blocks (for its heads or layers), so the engine's one block table serves
 * them all.
 *
 * <p>Thread-safety: {@link #execute} is called by the engine thread only.
 */
public final class ParallelExecutor implements ModelExecutor {
    private static final Logger LOG = LoggerFactory.getLogger(ParallelExecutor.class);
    private static final AtomicLong IDS = new AtomicLong();

    private final List<ActorHandle<ShardWorker>> actors;
    private final CpuCommunicator comm;
    private final CompiledGraph<ForwardBatch, ?> graph;
    private final boolean multi;
    private final int numBlocks;

    private ParallelExecutor(List<ActorHandle<ShardWorker>> actors, CpuCommunicator comm,
                             CompiledGraph<ForwardBatch, ?> graph, boolean multi, int numBlocks) {
        this.actors = actors;
        this.comm = comm;
        this.graph = graph;
        this.multi = multi;
        this.numBlocks = numBlocks;
    }

    private static int blocks(LoadedModel m, EngineConfig cfg) {
        LlamaConfig c = m.config();
        int n = KvCacheDescriptor.blocksFor(cfg.kvCacheBytes(), c.numHiddenLayers(), c.numKeyValueHeads(),
                cfg.blockSize(), c.headDim());
        if (n < 1) {
            throw new IllegalArgumentException("kvCacheBytes=" + cfg.kvCacheBytes() + " holds no KV block; raise it");
        }
        return n;
    }

    private static List<ActorHandle<ShardWorker>> spawn(StokerRuntime rt, String prefix, int n) {
        List<ActorHandle<ShardWorker>> hs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            hs.add(rt.createActor(ActorSpec.of(prefix + "-" + i, ctx -> new ShardWorker())));
        }
        return hs;
    }

    private static void init(List<ActorHandle<ShardWorker>> hs, List<ShardWorker.Init> inits) {
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
            hs.forEach(ActorHandle::close);
            Throwable c = e.getCause() != null && e.getCause().getCause() != null ? e.getCause().getCause() : e.getCause();
            if (c instanceof RuntimeException) {
                throw (RuntimeException) c;
            }
            throw new IllegalStateException("loading a model shard failed: " + c, c);
        }
    }

    /**
     * Tensor parallelism over {@code world} CPU actors of {@code rt}.
     *
     * @throws io.stoker.llm.load.ModelFormatException when heads, KV heads or FFN width do not divide by world
     */
    public static ParallelExecutor tensorParallel(StokerRuntime rt, LoadedModel m, EngineConfig cfg, int world) {
        long id = IDS.incrementAndGet();
        int numBlocks = blocks(m, cfg);
        List<ActorHandle<ShardWorker>> hs = spawn(rt, "tp" + id + "-rank", world);
        CpuCommunicator comm = CpuCommunicator.create("tp" + id, hs);
        List<ShardWorker.Init> inits = new ArrayList<>();
        int threads = Math.max(1, cfg.threads() / world);
        for (int r = 0; r < world; r++) {
            inits.add(new ShardWorker.Init(m, Partition.tensorShard(r, world, m.config().numHiddenLayers()), comm,
                    numBlocks, cfg.blockSize(), cfg.maxBatchTokens(), threads));
        }
        init(hs, inits);
        GraphBuilder g = GraphBuilder.on(rt, "tp" + id);
        InputNode<ForwardBatch> in = g.input();
        List<Node<float[]>> outs = new ArrayList<>();
        for (ActorHandle<ShardWorker> h : hs) {
            outs.add(g.bind(h, ShardWorker::logits, in));
        }
        CompiledGraph<ForwardBatch, ?> cg = world == 1 ? g.compile(outs.get(0))
                : g.compileMulti(GraphOptions.defaults().withName("tp" + id), outs.toArray(new Node<?>[0]));
        LOG.info("tensor-parallel executor tp{}: {} shards, {} KV blocks each", id, world, numBlocks);
        return new ParallelExecutor(hs, comm, cg, world > 1, numBlocks);
    }

    /** Pipeline parallelism: {@code stages} CPU actors of {@code rt}, each with a contiguous range of layers. */
    public static ParallelExecutor pipelineParallel(StokerRuntime rt, LoadedModel m, EngineConfig cfg, int stages) {
        long id = IDS.incrementAndGet();
        int layers = m.config().numHiddenLayers();
        if (stages < 2) {
            throw new IllegalArgumentException("a pipeline needs at least 2 stages, got " + stages);
        }
        int numBlocks = blocks(m, cfg);
        List<ActorHandle<ShardWorker>> hs = spawn(rt, "pp" + id + "-stage", stages);
        List<ShardWorker.Init> inits = new ArrayList<>();
        int threads = Math.max(1, cfg.threads() / stages);
        for (int s = 0; s < stages; s++) {
            inits.add(new ShardWorker.Init(m, Partition.pipelineStage(s, stages, layers), null, numBlocks,
                    cfg.blockSize(), cfg.maxBatchTokens(), threads));
        }
        init(hs, inits);
        GraphBuilder g = GraphBuilder.on(rt, "pp" + id);
        InputNode<ForwardBatch> in = g.input();
        Node<ShardWorker.StageActivations> act = g.bind(hs.get(0), ShardWorker::first, in);
        for (int s = 1; s < stages - 1; s++) {
            act = g.bind(hs.get(s), ShardWorker::middle, act);
        }
        Node<float[]> out = g.bind(hs.get(stages - 1), ShardWorker::last, act);
        CompiledGraph<ForwardBatch, float[]> cg = g.compile(out);
        LOG.info("pipeline executor pp{}: {} stages, {} KV blocks each", id, stages, numBlocks);
        return new ParallelExecutor(hs, null, cg, false, numBlocks);
    }

    @Override
    public float[] execute(ForwardBatch batch) {
        Object r = graph.execute(batch).get();
        if (multi) {
            return (float[]) ((List<?>) r).get(0);
        }
        return (float[]) r;
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
