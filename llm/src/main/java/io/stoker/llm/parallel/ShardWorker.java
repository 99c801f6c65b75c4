package io.stoker.llm.parallel;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.backend.cpu.CpuBackend;
import io.stoker.llm.kv.KvCache;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.model.Partition;
import io.stoker.llm.model.llama.LlamaConfig;
import io.stoker.llm.model.llama.LlamaModel;
import io.stoker.runtime.comm.Communicator;


/**
 * Actor state that runs one {@link Partition} of a model: a tensor-parallel shard, a pipeline stage, or both.
 * Created empty by the actor factory, then {@link #init}ialized once the communicator (which needs every member's
 * handle) exists. Its methods are bound as compiled-graph tasks.
 *
 * <p>Thread-safety: the runtime calls it on its actor's thread only.
 */
public final class ShardWorker implements AutoCloseable {
    /** What a shard needs: the shared (memory-mapped) model, its partition, communicator and KV geometry. */
    public record Init(LoadedModel model, Partition partition, Communicator comm, int numBlocks, int blockSize,
                       int maxTokens, int threads) {
    }

    /** Hidden states passed between pipeline stages, with the batch they belong to. */
    public record StageActivations(ForwardBatch batch, float[] hidden) {
    }

    private CpuBackend backend;
    private LlamaModel model;
    private int vocab;

    /** Builds the model partition and its KV cache; returns true. */
    public Boolean init(Init in) {
        LlamaConfig c = in.model().config();
        Partition p = in.partition();
        int kvHeads = c.numKeyValueHeads() / p.worldSize();
        backend = new CpuBackend(in.threads());
        KvCache cache = backend.createKvCache(p.firstLayer(), p.endLayer() - p.firstLayer(), in.numBlocks(),
                in.blockSize(), kvHeads, c.headDim(), io.stoker.llm.tensor.DType.F32);
        model = new LlamaModel(c, in.model().tensors(), backend, p, in.comm(), cache, in.maxTokens());
        vocab = c.vocabSize();
        return Boolean.TRUE;
    }

    /** The whole stack (tensor-parallel shard): logits {@code (logit tokens, vocab)}, a copy. */
    public float[] logits(ForwardBatch b) {
        return host(model.forward(b, null), b.logitTokens().length);
    }

    /** First pipeline stage: embeds and runs its layers. */
    public StageActivations first(ForwardBatch b) {
        return new StageActivations(b, host(model.forward(b, null), b.numTokens()));
    }

    /** A middle pipeline stage. */
    public StageActivations middle(StageActivations in) {
        return new StageActivations(in.batch(), host(model.forward(in.batch(), in.hidden()), in.batch().numTokens()));
    }

    /** Last pipeline stage: its layers, the final norm and the LM head. */
    public float[] last(StageActivations in) {
        return host(model.forward(in.batch(), in.hidden()), in.batch().logitTokens().length);
    }

    private float[] host(io.stoker.llm.backend.Activation a, int rows) {
        float[] out = new float[rows * a.cols()];
        backend.copyToHost(a, rows, out, 0);
        return out;
    }

    @Override
    public void close() {
        if (backend != null) {
            backend.close();
        }
    }
}
