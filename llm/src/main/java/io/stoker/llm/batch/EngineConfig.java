package io.stoker.llm.batch;

import io.stoker.llm.kv.KvCacheDescriptor;
import io.stoker.llm.model.llama.LlamaConfig;
import io.stoker.llm.runner.ModelRunner;
import io.stoker.llm.tensor.DType;
import io.stoker.runtime.channel.IdleKind;

/**
 * Engine settings. Immutable; validated on construction with messages that name the setting.
 *
 * @param kvCacheBytes   KV cache budget in bytes (all layers, K and V), shared by all sequences
 * @param blockSize      tokens per KV block
 * @param maxBatchTokens token budget of one step (decode tokens plus prefill chunks); also the model's buffer size
 * @param maxNumSeqs     most sequences running at once (and in one step)
 * @param threads        CPU threads for the kernels
 * @param maxModelLen    context length limit (0 = the model's max_position_embeddings)
 * @param kvCacheDtype   KV cache elements: F32, or F16 (half the memory; values rounded to binary16)
 * @param prefixCaching  reuse the KV blocks of identical prompt prefixes across requests (outputs are unchanged)
 * @param idle           how the engine's threads (step loop, CPU workers) wait for work
 * @param backend        where the model runs: {@code cpu}, {@code cuda} (device 0) or {@code cuda:ADDRESS} (a GPU
 *                       address); a CUDA backend binds its device to the thread that creates the model runner, which
 *                       must then run every step (drive the engine with {@link LlmEngine#step()} or an actor, not
 *                       {@link LlmEngine#start()})
 */
public record EngineConfig(long kvCacheBytes, int blockSize, int maxBatchTokens, int maxNumSeqs, int threads,
                           int maxModelLen, DType kvCacheDtype, boolean prefixCaching, IdleKind idle,
                           String backend) {
    public EngineConfig {
        if (kvCacheBytes <= 0) {
            throw new IllegalArgumentException("kvCacheBytes=" + kvCacheBytes + " must be >= 1");
        }
        if (blockSize < 1 || blockSize > 1024) {
            throw new IllegalArgumentException("blockSize=" + blockSize + " must be in [1, 1024]");
        }
        if (maxBatchTokens < 1) {
            throw new IllegalArgumentException("maxBatchTokens=" + maxBatchTokens + " must be >= 1");
        }
        if (maxNumSeqs < 1) {
            throw new IllegalArgumentException("maxNumSeqs=" + maxNumSeqs + " must be >= 1");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads=" + threads + " must be >= 1");
        }
        if (maxModelLen < 0) {
            throw new IllegalArgumentException("maxModelLen=" + maxModelLen + " must be >= 0");
        }
        if (kvCacheDtype != DType.F32 && kvCacheDtype != DType.F16) {
            throw new IllegalArgumentException("kvCacheDtype=" + kvCacheDtype + " must be F32 or F16");
        }
        if (idle == null) {
            throw new IllegalArgumentException("idle must not be null; use BACKOFF");
        }
        io.stoker.llm.backend.Backends.validate(backend);
    }

    /** The settings before the KV dtype, prefix-caching, idle and backend options: F32 KV, prefix caching on. */
    public EngineConfig(long kvCacheBytes, int blockSize, int maxBatchTokens, int maxNumSeqs, int threads,
                        int maxModelLen) {
        this(kvCacheBytes, blockSize, maxBatchTokens, maxNumSeqs, threads, maxModelLen, DType.F32, true,
                IdleKind.BACKOFF, "cpu");
    }

    /**
     * 256 MiB of f32 KV, blocks of 16, 512 tokens and 64 sequences per step, one thread per processor, prefix caching
     * on, back-off idling, CPU.
     */
    public static EngineConfig defaults() {
        return new EngineConfig(256L << 20, 16, 512, 64, Runtime.getRuntime().availableProcessors(), 0);
    }

    public EngineConfig withKvCacheBytes(long b) {
        return new EngineConfig(b, blockSize, maxBatchTokens, maxNumSeqs, threads, maxModelLen, kvCacheDtype,
                prefixCaching, idle, backend);
    }

    public EngineConfig withBlockSize(int n) {
        return new EngineConfig(kvCacheBytes, n, maxBatchTokens, maxNumSeqs, threads, maxModelLen, kvCacheDtype,
                prefixCaching, idle, backend);
    }

    public EngineConfig withMaxBatchTokens(int n) {
        return new EngineConfig(kvCacheBytes, blockSize, n, maxNumSeqs, threads, maxModelLen, kvCacheDtype,
                prefixCaching, idle, backend);
    }

    public EngineConfig withMaxNumSeqs(int n) {
        return new EngineConfig(kvCacheBytes, blockSize, maxBatchTokens, n, threads, maxModelLen, kvCacheDtype,
                prefixCaching, idle, backend);
    }

    public EngineConfig withThreads(int n) {
        return new EngineConfig(kvCacheBytes, blockSize, maxBatchTokens, maxNumSeqs, n, maxModelLen, kvCacheDtype,
                prefixCaching, idle, backend);
    }

    public EngineConfig withMaxModelLen(int n) {
        return new EngineConfig(kvCacheBytes, blockSize, maxBatchTokens, maxNumSeqs, threads, n, kvCacheDtype,
                prefixCaching, idle, backend);
    }

    public EngineConfig withKvCacheDtype(DType d) {
        return new EngineConfig(kvCacheBytes, blockSize, maxBatchTokens, maxNumSeqs, threads, maxModelLen, d,
                prefixCaching, idle, backend);
    }

    public EngineConfig withPrefixCaching(boolean on) {
        return new EngineConfig(kvCacheBytes, blockSize, maxBatchTokens, maxNumSeqs, threads, maxModelLen,
                kvCacheDtype, on, idle, backend);
    }

    public EngineConfig withIdle(IdleKind k) {
        return new EngineConfig(kvCacheBytes, blockSize, maxBatchTokens, maxNumSeqs, threads, maxModelLen,
                kvCacheDtype, prefixCaching, k, backend);
    }

    public EngineConfig withBackend(String b) {
        return new EngineConfig(kvCacheBytes, blockSize, maxBatchTokens, maxNumSeqs, threads, maxModelLen,
                kvCacheDtype, prefixCaching, idle, b);
    }

    /**
     * @return how many KV blocks of {@link #blockSize} tokens the budget holds for the whole model (every worker of a
     * tensor- or pipeline-parallel group holds that many blocks for its heads or layers)
     * @throws IllegalArgumentException when not even one block fits, naming the budget and the block size in bytes
     */
    public int kvBlocks(LlamaConfig c) {
        int blocks = KvCacheDescriptor.blocksFor(kvCacheBytes, c.numHiddenLayers(), c.numKeyValueHeads(), blockSize,
                c.headDim(), kvCacheDtype);
        if (blocks < 1) {
            throw new IllegalArgumentException("kvCacheBytes=" + kvCacheBytes + " holds no KV block of "
                    + KvCacheDescriptor.bytesPerBlock(c.numHiddenLayers(), c.numKeyValueHeads(), blockSize,
                    c.headDim(), kvCacheDtype) + " bytes; raise it");
        }
        return blocks;
    }

    /** @return the model runner settings of one worker with {@code threads} threads */
    public ModelRunner.Config runnerConfig(int numBlocks, int workerThreads) {
        return new ModelRunner.Config(numBlocks, blockSize, maxBatchTokens, maxNumSeqs, workerThreads, kvCacheDtype,
                backend, idle);
    }
}
