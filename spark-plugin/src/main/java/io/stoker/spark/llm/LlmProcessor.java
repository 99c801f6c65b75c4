package io.stoker.spark.llm;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.ModelLoader;
import io.stoker.llm.batch.EngineConfig;
import io.stoker.llm.batch.LlmEngine;
import io.stoker.llm.batch.ModelExecutor;
import io.stoker.llm.parallel.ParallelExecutor;
import io.stoker.llm.tensor.DType;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.spark.executor.ExecutorRuntime;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One executor's LLM processor for one model and set of engine options: the model, loaded once for the whole
 * application, and one or more lanes. A lane is the processor's compiled graph on the executor's runtime:
 * <pre>
 *   RequestBatch (Arrow) ─▶ preparer actor: template + tokenize ─▶ engine actor: enqueue ─▶ (engine steps)
 *   RowBatch (finished)  ─▶ assembler actor: results ─▶ Arrow batch
 * </pre>
 * The engine continuously batches the rows of every task that feeds it; while it steps, the preparer already
 * tokenizes the next batches. Lanes: one per GPU group (tensor_parallel or pipeline_parallel GPUs) on a GPU executor,
 * one CPU engine otherwise, or the call's {@code engines} option; tasks spread their batches over lanes round-robin.
 *
 * <p>Device ({@code device} option): on CUDA each lane's engine actor is pinned to one Spark GPU address, builds its
 * engine there (the CUDA context belongs to that actor's thread) and runs the engine's steps itself; see
 * {@link EngineActor}. A CPU engine steps on its own thread. CPU-only executors never load a GPU class.
 *
 * <p>Thread-safety: {@link #submit} from any thread.
 */
public final class LlmProcessor implements RowProcessor {
    private static final Logger LOG = LoggerFactory.getLogger(LlmProcessor.class);
    private static final AtomicLong IDS = new AtomicLong();

    private final String key;
    private final LoadedModel model;
    private final List<Lane> lanes;
    private final AtomicLong turn = new AtomicLong();
    private volatile boolean closed;

    /** One engine with its preparer and assembler actors and the two compiled graphs through them. */
    private record Lane(ActorHandle<RequestPreparer> preparer, ActorHandle<EngineActor> engine,
                        ActorHandle<ResultAssembler> assembler, LaneGraphs graphs, LlmEngine llm, String gpu) {
    }

    private LlmProcessor(String key, LoadedModel model, List<Lane> lanes) {
        this.key = key;
        this.model = model;
        this.lanes = List.copyOf(lanes);
    }

    static LlmProcessor start(ExecutorRuntime host, LlmSpec spec, String key) {
        long t0 = System.nanoTime();
        LoadedModel model = ModelLoader.load(localModel(host, spec.model()));
        host.metrics().llmModelLoad();
        List<Lane> lanes = new ArrayList<>();
        try {
            checkDtype(spec, model);
            int gpus = host.gpuAddresses().size();
            int width = spec.gpusPerEngine();
            boolean cuda = useCuda(host, spec);
            checkPipelineStages(spec, model);
            boolean cpuAsked = spec.device().equals("cpu");
            int n = spec.engines() > 0 ? spec.engines() : cpuAsked ? 1 : Math.max(1, gpus / width);
            if (cuda && gpus > 0 && n * width > gpus) {
                throw new LlmConfigException("LLM option 'engines' = " + n + ", but executor " + host.executorId()
                        + " has " + gpus + " GPU(s) " + host.gpuAddresses() + " and each CUDA engine needs "
                        + width + " of its own (" + spec.gpusPerEngineOption().key() + "); use engines=auto or at most "
                        + gpus / width);
            }
            // device=cpu leaves the executor's GPUs to others; auto on a GPU executor without CUDA keeps one CPU
            // engine per GPU group
            boolean pinGpus = cuda ? gpus > 0 : !cpuAsked && spec.engines() == 0 && gpus >= width;
            int threads = spec.threads() > 0 ? spec.threads()
                    : Math.max(1, (int) Math.round(host.conf().effectiveRuntimeCpus()) / n);
            EngineConfig cfg = EngineConfig.defaults().withKvCacheBytes(spec.kvCacheBytes())
                    .withMaxBatchTokens(spec.maxBatchTokens()).withMaxNumSeqs(spec.maxNumSeqs())
                    .withThreads(threads).withMaxModelLen(spec.maxModelLen())
                    .withKvCacheDtype(spec.kvCacheF16() ? io.stoker.llm.tensor.DType.F16 : io.stoker.llm.tensor.DType.F32)
                    .withPrefixCaching(spec.prefixCaching());
            StokerRuntime rt = host.runtime();
            long id = IDS.incrementAndGet();
            for (int i = 0; i < n; i++) {
                String name = "llm" + id + "-" + i;
                lanes.add(cuda && width > 1 ? cudaParallelLane(host, rt, model, cfg, spec, name)
                        : cuda ? cudaLane(host, rt, model, cfg, pinGpus ? null : String.valueOf(i), name)
                        : lane(host, rt, model, cfg, spec, pinGpus, name));
            }
        } catch (RuntimeException | Error e) {
            new LlmProcessor(key, model, lanes).close();
            throw e;
        }
        LOG.info("LLM processor for {} on executor {}: {} engine(s) on {}, model loaded in {} ms", spec.model(),
                host.executorId(), lanes.size(), lanes.get(0).gpu() == null ? "the CPU" : gpus(lanes),
                (System.nanoTime() - t0) / 1_000_000);
        LlmProcessor p = new LlmProcessor(key, model, lanes);
        host.metrics().llmEngineStats(() -> engineStats(host));
        return p;
    }

    private static Collection<LlmEngine.Stats> engineStats(ExecutorRuntime host) {
        List<LlmEngine.Stats> out = new ArrayList<>();
        for (AutoCloseable s : host.services()) {
            if (s instanceof LlmProcessor p && !p.closed) {
                for (Lane l : p.lanes) {
                    out.add(l.llm().stats());
                }
            }
        }
        return out;
    }

    /**
     * Whether this processor's engines run on CUDA: {@code device=cuda}, or {@code auto} on an executor that Spark gave
     * GPUs and that has a CUDA driver (or the simulator). Only then is a GPU class loaded.
     *
     * @throws LlmConfigException when CUDA was asked for and cannot be used, naming the option and what to do
     */
    private static boolean useCuda(ExecutorRuntime host, LlmSpec spec) {
        String device = spec.device();
        if (device.equals("cpu") || (device.equals("auto") && host.gpuAddresses().isEmpty())) {
            return false;
        }
        String why = CudaLanes.unavailableReason();
        if (why != null) {
            if (device.equals("auto")) {
                LOG.warn("executor {} has GPUs {} but no usable CUDA driver ({}); LLM engines run on the CPU",
                        host.executorId(), host.gpuAddresses(), why);
                return false;
            }
            throw new LlmConfigException("LLM option 'device' = 'cuda', but executor " + host.executorId()
                    + " cannot use CUDA: " + why + "; install the NVIDIA driver (or set stoker.cuda.libraryPath), use"
                    + " -Dstoker.cuda=sim for the simulator, or set device=cpu");
        }
        int width = spec.gpusPerEngine();
        if (width > 1 && host.gpuAddresses().size() < width) {
            String option = spec.gpusPerEngineOption().key();
            throw new LlmConfigException("LLM option '" + option + "' = " + width + " on CUDA needs that many GPUs per"
                    + " executor, but Spark gave executor " + host.executorId() + " " + host.gpuAddresses().size() + " "
                    + host.gpuAddresses() + "; set spark.executor.resource.gpu.amount to a multiple of it, or lower "
                    + option);
        }
        return true;
    }

    private static String gpus(List<Lane> lanes) {
        List<String> out = new ArrayList<>();
        for (Lane l : lanes) {
            out.add(l.gpu());
        }
        return out.toString();
    }

    /**
     * A lane whose engine runs on one GPU: the engine actor is pinned to a GPU address Spark assigned (or, on an
     * executor without Spark GPU resources, uses {@code address}), builds the engine on its thread and runs its steps.
     */
    private static Lane cudaLane(ExecutorRuntime host, StokerRuntime rt, LoadedModel model, EngineConfig cfg,
                                 String address, String name) {
        ActorHandle<EngineActor> engine = rt.createActor(ActorSpec.<EngineActor>of(name + "-engine", ctx -> {
            String gpu = address != null ? address : ctx.gpuIds().get(0);
            return new EngineActor(CudaLanes.newEngine(model, cfg, gpu), "GPU " + gpu,
                    (where, cause) -> FatalDeviceErrorExit.handle(host.executorId(), where, cause));
        }).withGpus(address != null ? 0 : 1));
        return finishLane(host, rt, model, cfg, engine, name);
    }

    /**
     * A lane whose engine spans {@link LlmSpec#gpusPerEngine} GPUs: the engine actor runs the scheduler and steps a
     * tensor-parallel executor (ranks joined by NCCL) or a pipeline-parallel one (stages passing hidden states over
     * GPU channels), whose workers are GPU actors, one per GPU address of the runtime.
     */
    private static Lane cudaParallelLane(ExecutorRuntime host, StokerRuntime rt, LoadedModel model,
                                         EngineConfig cfg, LlmSpec spec, String name) {
        ActorHandle<EngineActor> engine = rt.createActor(ActorSpec.<EngineActor>of(name + "-engine", ctx -> {
            EngineConfig c = cfg.withBackend("cuda");
            LlmEngine e = new LlmEngine(model, parallelExecutor(rt, model, c, spec), c);
            return new EngineActor(e, "the " + spec.gpusPerEngine() + " GPUs of " + (spec.pipelineParallel() > 1
                    ? "pipeline" : "tensor") + "-parallel engine " + name,
                    (where, cause) -> FatalDeviceErrorExit.handle(host.executorId(), where, cause));
        }));
        return finishLane(host, rt, model, cfg, engine, name);
    }

    private static Lane lane(ExecutorRuntime host, StokerRuntime rt, LoadedModel model, EngineConfig cfg, LlmSpec spec,
                             boolean pinGpus, String name) {
        ActorHandle<EngineActor> engine = rt.createActor(ActorSpec.<EngineActor>of(name + "-engine", ctx -> {
            ModelExecutor ex = spec.gpusPerEngine() > 1 ? parallelExecutor(rt, model, cfg, spec)
                    : new io.stoker.llm.batch.LocalExecutor(model, cfg);
            return new EngineActor(new LlmEngine(model, ex, cfg).start());
        }).withGpus(pinGpus ? spec.gpusPerEngine() : 0));
        return finishLane(host, rt, model, cfg, engine, name);
    }

    /** The executor of an engine over several workers: pipeline stages or tensor-parallel ranks (never both). */
    private static ParallelExecutor parallelExecutor(StokerRuntime rt, LoadedModel model, EngineConfig cfg,
                                                     LlmSpec spec) {
        return spec.pipelineParallel() > 1 ? ParallelExecutor.pipelineParallel(rt, model, cfg, spec.pipelineParallel())
                : ParallelExecutor.tensorParallel(rt, model, cfg, spec.tensorParallel());
    }

    private static Lane finishLane(ExecutorRuntime host, StokerRuntime rt, LoadedModel model, EngineConfig cfg,
                                   ActorHandle<EngineActor> engine, String name) {
        LlmEngine llm;
        String gpu;
        try {
            llm = engine.call(EngineActor::engine).join();
            gpu = engine.call(EngineActor::device).join();
        } catch (RuntimeException e) {
            engine.close();
            throw e;
        }
        int capacity = llm.stats().totalBlocks() * cfg.blockSize();
        ActorHandle<RequestPreparer> preparer = rt.createActor(ActorSpec.of(name + "-prepare",
                ctx -> new RequestPreparer(model, llm.maxModelLen(), capacity)));
        ActorHandle<ResultAssembler> assembler = rt.createActor(ActorSpec.of(name + "-assemble",
                ctx -> new ResultAssembler(host.allocator().newChildAllocator(name + "-output", 0, Long.MAX_VALUE))));
        return new Lane(preparer, engine, assembler, LaneGraphs.compile(rt, name, preparer, RequestPreparer::prepare,
                engine, EngineActor::enqueue, assembler), llm, gpu);
    }

    /** Turns the model option into a local path: remote URIs go through the executor's artifact cache (once). */
    private static String localModel(ExecutorRuntime host, String model) {
        int colon = model.indexOf(':');
        if (colon > 1) {
            String scheme = model.substring(0, colon).toLowerCase(Locale.ROOT);
            if (!scheme.equals("file") && !scheme.equals("demo")) {
                return host.artifacts().fetch(model).toString();
            }
            if (scheme.equals("file")) {
                return java.nio.file.Path.of(URI.create(model)).toString();
            }
        }
        return model;
    }

    /** Each pipeline stage needs at least one layer: refuses more stages than the model has layers. */
    private static void checkPipelineStages(LlmSpec spec, LoadedModel model) {
        int layers = model.config().numHiddenLayers();
        if (spec.pipelineParallel() > layers) {
            throw new LlmConfigException("LLM option 'pipeline_parallel' = " + spec.pipelineParallel() + ", but model "
                    + spec.model() + " has " + layers + " layer(s) and each pipeline stage needs at least one; use"
                    + " pipeline_parallel of at most " + layers);
        }
    }

    private static void checkDtype(LlmSpec spec, LoadedModel model) {
        if (spec.dtype().equals("auto")) {
            return;
        }
        String probe = "model.layers.0.self_attn.q_proj.weight";
        DType stored = model.tensors().has(probe) ? model.tensors().get(probe).dtype() : null;
        String want = switch (spec.dtype()) {
            case "float32" -> "F32";
            case "float16" -> "F16";
            case "bfloat16" -> "BF16";
            default -> "Q8_0";
        };
        if (stored != null && !stored.name().equals(want)) {
            throw new LlmConfigException("LLM option 'dtype' = '" + spec.dtype() + "', but model " + spec.model()
                    + " stores its weights as " + stored + " and the CPU engine runs weights as stored; use dtype=auto"
                    + " or a model file of that type");
        }
    }

    /** Sends a batch through the next lane (round-robin). */
    @Override
    public Pending submit(RequestBatch batch) {
        Lane l = lanes.get((int) Math.floorMod(turn.getAndIncrement(), (long) lanes.size()));
        return l.graphs().submit(batch);
    }

    @Override
    public long running() {
        long n = 0;
        for (LlmEngine.Stats s : stats()) {
            n += s.running();
        }
        return n;
    }

    /** @return the engines' counters, one per lane */
    public List<LlmEngine.Stats> stats() {
        List<LlmEngine.Stats> out = new ArrayList<>();
        for (Lane l : lanes) {
            out.add(l.llm().stats());
        }
        return out;
    }

    /** @return false once an engine died or an actor of a lane is gone: the executor then builds a new processor */
    @Override
    public boolean isHealthy() {
        if (closed) {
            return false;
        }
        for (Lane l : lanes) {
            if (!l.llm().isUsable() || !l.engine().isAlive() || !l.preparer().isAlive() || !l.assembler().isAlive()) {
                return false;
            }
        }
        return true;
    }

    /** @return the lanes' engines (for diagnostics and watchdogs) */
    public List<LlmEngine> engines() {
        List<LlmEngine> out = new ArrayList<>();
        for (Lane l : lanes) {
            out.add(l.llm());
        }
        return out;
    }

    @Override
    public String key() {
        return key;
    }

    public LoadedModel model() {
        return model;
    }

    /** Closes graphs, then actors (the engines fail what they still hold), then the model. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Lane l : lanes) {
            l.graphs().close();
            l.preparer().close();
            l.assembler().close();
            l.engine().close();
        }
        model.close();
    }
}
