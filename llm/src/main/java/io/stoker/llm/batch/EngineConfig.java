package io.stoker.llm.batch;

/**
 * Engine settings. Immutable; validated on construction with messages that name the setting.
 *
 * @param kvCacheBytes   KV cache budget in bytes (all layers, K and V, f32), shared by all sequences
 * @param blockSize      tokens per KV block
 * @param maxBatchTokens token budget of one step (decode tokens plus prefill chunks); also the model's buffer size
 * @param maxNumSeqs     most sequences in one step
 * @param threads        CPU threads for the kernels
 * @param maxModelLen    context length limit (0 = the model's max_position_embeddings)
 */
public record EngineConfig(long kvCacheBytes, int blockSize, int maxBatchTokens, int maxNumSeqs, int threads,
                           int maxModelLen) {
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
    }

    /** 256 MiB of KV, blocks of 16, 512 tokens and 64 sequences per step, one thread per processor. */
    public static EngineConfig defaults() {
        return new EngineConfig(256L << 20, 16, 512, 64, Runtime.getRuntime().availableProcessors(), 0);
    }

    public EngineConfig withKvCacheBytes(long b) {
        return new EngineConfig(b, blockSize, maxBatchTokens, maxNumSeqs, threads, maxModelLen);
    }

    public EngineConfig withBlockSize(int n) {
        return new EngineConfig(kvCacheBytes, n, maxBatchTokens, maxNumSeqs, threads, maxModelLen);
    }

    public EngineConfig withMaxBatchTokens(int n) {
        return new EngineConfig(kvCacheBytes, blockSize, n, maxNumSeqs, threads, maxModelLen);
    }

    public EngineConfig withMaxNumSeqs(int n) {
        return new EngineConfig(kvCacheBytes, blockSize, maxBatchTokens, n, threads, maxModelLen);
    }

    public EngineConfig withThreads(int n) {
        return new EngineConfig(kvCacheBytes, blockSize, maxBatchTokens, maxNumSeqs, n, maxModelLen);
    }

    public EngineConfig withMaxModelLen(int n) {
        return new EngineConfig(kvCacheBytes, blockSize, maxBatchTokens, maxNumSeqs, threads, n);
    }
}
