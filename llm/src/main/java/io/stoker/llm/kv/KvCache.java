package io.stoker.llm.kv;

import io.stoker.llm.tensor.DType;

/**
 * KV storage of one model instance (one shard or stage) for a range of layers, laid out as in
 * {@link KvCacheDescriptor}, created and read by its {@link io.stoker.llm.backend.Backend}. Block ids come from the
 * scheduler's block pool; every shard and stage holds the same number of blocks, so one block table serves
 * them all.
 *
 * <p>Thread-safety: written and read by the owning backend within one forward call.
 */
public interface KvCache {
    int firstLayer();

    int layers();

    int numBlocks();

    int blockSize();

    int kvHeads();

    int headDim();

    /** @return the element type: F32, or F16 (half the memory, values rounded to binary16) */
    DType dtype();

    /** @return bytes held: {@code numBlocks()} blocks of {@link KvCacheDescriptor#bytesPerBlock} */
    default long bytes() {
        return (long) numBlocks() * KvCacheDescriptor.bytesPerBlock(layers(), kvHeads(), blockSize(), headDim(),
                dtype());
    }
}
