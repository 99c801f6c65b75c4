package io.stoker.llm.kv;

/**
 * Layout of the paged KV cache. The cache is a pool of fixed-size blocks shared by all sequences; a sequence's
 * block table maps its logical block {@code pos / blockSize} to a physical block id. Per layer, K and V are each
 * one float array:
 *
 * <pre>
 *  K[layer] = [ block 0                               | block 1 | ... ]
 *             [ kv head 0: slot 0 (headDim floats),
 *                          slot 1, ... slot bs-1      ]
 *             [ kv head 1: ...                        ]
 *
 *  offset(block, head, slot) = ((block * kvHeads + head) * blockSize + slot) * headDim
 * </pre>
 *
 * Keys of one head within one block are contiguous, so attention reads {@code blockSize * headDim} floats at a
 * time. Bytes per block over all layers: {@code 2 * layers * kvHeads * blockSize * headDim * 4}.
 */
public final class KvCacheDescriptor {
    private KvCacheDescriptor() {
    }

    public static int offset(int block, int head, int slot, int kvHeads, int blockSize, int headDim) {
        return ((block * kvHeads + head) * blockSize + slot) * headDim;
    }

    /** @return bytes one block takes across {@code layers} layers (K and V, f32) */
    public static long bytesPerBlock(int layers, int kvHeads, int blockSize, int headDim) {
        return 2L * layers * kvHeads * blockSize * headDim * Float.BYTES;
    }

    /** @return how many blocks fit in {@code budgetBytes} */
    public static int blocksFor(long budgetBytes, int layers, int kvHeads, int blockSize, int headDim) {
        return (int) Math.min(Integer.MAX_VALUE, budgetBytes / bytesPerBlock(layers, kvHeads, blockSize, headDim));
    }
}
