package io.stoker.llm.kv;

import io.stoker.llm.tensor.DType;

/**
 * Layout of the paged KV cache. The cache is a pool of fixed-size blocks shared by all sequences; a sequence's
 * block table maps its logical block {@code pos / blockSize} to a physical block id. Per layer, K and V are each
 * one array of elements (f32, or binary16 with the f16 option):
 *
 * <pre>
 *  K[layer] = [ block 0                               | block 1 | ... ]
 *             [ kv head 0: slot 0 (headDim elements),
 *                          slot 1, ... slot bs-1      ]
 *             [ kv head 1: ...                        ]
 *
 *  offset(block, head, slot) = ((block * kvHeads + head) * blockSize + slot) * headDim
 * </pre>
 *
 * Keys of one head within one block are contiguous, so attention reads {@code blockSize * headDim} elements at a
 * time. Bytes per block over all layers: {@code 2 * layers * kvHeads * blockSize * headDim * elementBytes}.
 */
public final class KvCacheDescriptor {
    private KvCacheDescriptor() {
    }

    public static int offset(int block, int head, int slot, int kvHeads, int blockSize, int headDim) {
        return ((block * kvHeads + head) * blockSize + slot) * headDim;
    }

    /** @return bytes one block takes across {@code layers} layers (K and V, f32) */
    public static long bytesPerBlock(int layers, int kvHeads, int blockSize, int headDim) {
        return bytesPerBlock(layers, kvHeads, blockSize, headDim, DType.F32);
    }

    /** @return bytes one block takes across {@code layers} layers (K and V) with elements of {@code dtype} */
    public static long bytesPerBlock(int layers, int kvHeads, int blockSize, int headDim, DType dtype) {
        return 2L * layers * kvHeads * blockSize * headDim * elementBytes(dtype);
    }

    /** @return how many f32 blocks fit in {@code budgetBytes} */
    public static int blocksFor(long budgetBytes, int layers, int kvHeads, int blockSize, int headDim) {
        return blocksFor(budgetBytes, layers, kvHeads, blockSize, headDim, DType.F32);
    }

    /** @return how many blocks of {@code dtype} elements fit in {@code budgetBytes} */
    public static int blocksFor(long budgetBytes, int layers, int kvHeads, int blockSize, int headDim, DType dtype) {
        return (int) Math.min(Integer.MAX_VALUE, budgetBytes / bytesPerBlock(layers, kvHeads, blockSize, headDim,
                dtype));
    }

    /** @return bytes per element of a KV cache of {@code dtype} (F32 4, F16 2) */
    public static int elementBytes(DType dtype) {
        switch (dtype) {
            case F32:
                return 4;
            case F16:
                return 2;
            default:
                throw new IllegalArgumentException("KV cache dtype " + dtype + " is not supported; use F32 or F16");
        }
    }
}
