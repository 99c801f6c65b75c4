package io.stoker.llm.kv;

/**
 * KV storage of one model instance (one shard or stage) for a range of layers, laid out as in
 * {@link KvCacheDescriptor}. Block ids come from the scheduler's {@link BlockAllocator}; every shard and stage
 * holds the same number of blocks, so one block table serves them all.
 *
 * <p>Thread-safety: written and read by the model's owner thread and its worker pool within one forward call.
 */
public final class KvCache {
    private final float[][] k;
    private final float[][] v;
    private final int firstLayer;
    private final int numBlocks;
    private final int blockSize;
    private final int kvHeads;
    private final int headDim;

    public KvCache(int firstLayer, int layers, int numBlocks, int blockSize, int kvHeads, int headDim) {
        long per = (long) numBlocks * blockSize * kvHeads * headDim;
        if (per > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV cache of " + numBlocks + " blocks needs " + per
                    + " floats per layer, more than one Java array holds; lower the KV budget or the block count");
        }
        this.firstLayer = firstLayer;
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.k = new float[layers][(int) per];
        this.v = new float[layers][(int) per];
    }

    public float[] keys(int layer) {
        return k[layer - firstLayer];
    }

    public float[] values(int layer) {
        return v[layer - firstLayer];
    }

    public int numBlocks() {
        return numBlocks;
    }

    public int blockSize() {
        return blockSize;
    }

    public int kvHeads() {
        return kvHeads;
    }

    public int headDim() {
        return headDim;
    }

    /** @return the float offset of {@code (head, position)} for a sequence with block table {@code table} */
    public int offset(int[] table, int pos, int head) {
        return KvCacheDescriptor.offset(table[pos / blockSize], head, pos % blockSize, kvHeads, blockSize, headDim);
    }

    /** Stores one token's K and V rows ({@code kvHeads * headDim} floats each) at {@code pos}. */
    public void write(int layer, int[] table, int pos, float[] kSrc, int kOff, float[] vSrc, int vOff) {
        float[] kl = keys(layer);
        float[] vl = values(layer);
        for (int h = 0; h < kvHeads; h++) {
            int o = offset(table, pos, h);
            System.arraycopy(kSrc, kOff + h * headDim, kl, o, headDim);
            System.arraycopy(vSrc, vOff + h * headDim, vl, o, headDim);
        }
    }

    public long bytes() {
        return 2L * k.length * (k.length == 0 ? 0 : k[0].length) * Float.BYTES;
    }
}
