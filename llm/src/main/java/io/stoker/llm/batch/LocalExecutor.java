package io.stoker.llm.batch;

import io.stoker.llm.LoadedModel;
import io.stoker.llm.backend.cpu.CpuBackend;
import io.stoker.llm.kv.KvCache;
import io.stoker.llm.kv.KvCacheDescriptor;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.model.Partition;
import io.stoker.llm.model.llama.LlamaConfig;
import io.stoker.llm.model.llama.LlamaModel;

/**
 * The whole model in the calling thread (plus the CPU backend's worker pool).
 *
 * <p>Thread-safety: one thread calls {@link #execute} at a time.
 */
public final class LocalExecutor implements ModelExecutor {
    private final CpuBackend backend;
    private final KvCache cache;
    private final LlamaModel model;

    public LocalExecutor(LoadedModel m, EngineConfig cfg) {
        LlamaConfig c = m.config();
        int blocks = KvCacheDescriptor.blocksFor(cfg.kvCacheBytes(), c.numHiddenLayers(), c.numKeyValueHeads(),
                cfg.blockSize(), c.headDim());
        if (blocks < 1) {
            throw new IllegalArgumentException("kvCacheBytes=" + cfg.kvCacheBytes() + " holds no KV block of "
                    + KvCacheDescriptor.bytesPerBlock(c.numHiddenLayers(), c.numKeyValueHeads(), cfg.blockSize(),
                    c.headDim()) + " bytes; raise it");
        }
        this.backend = new CpuBackend(cfg.threads());
        this.cache = backend.createKvCache(0, c.numHiddenLayers(), blocks, cfg.blockSize(), c.numKeyValueHeads(),
                c.headDim(), io.stoker.llm.tensor.DType.F32);
        this.model = new LlamaModel(c, m.tensors(), backend, Partition.whole(c.numHiddenLayers()), null, cache,
                cfg.maxBatchTokens());
    }

    @Override
    public float[] execute(ForwardBatch batch) {
        io.stoker.llm.backend.Activation l = model.forward(batch, null);
        float[] out = new float[batch.logitTokens().length * l.cols()];
        backend.copyToHost(l, batch.logitTokens().length, out, 0);
        return out;
    }

    @Override
    public int numBlocks() {
        return cache.numBlocks();
    }

    public KvCache cache() {
        return cache;
    }

    @Override
    public void close() {
        backend.close();
    }
}
