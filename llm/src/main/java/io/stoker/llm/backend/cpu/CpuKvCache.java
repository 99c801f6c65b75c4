package io.stoker.llm.backend.cpu;

import io.stoker.llm.kv.KvCache;
import io.stoker.llm.kv.KvCacheDescriptor;
import io.stoker.llm.tensor.DType;

/**
 * KV cache on the Java heap, laid out as in {@link KvCacheDescriptor}: per layer one array for K and one for V,
 * f32 ({@code float[]}) or binary16 bits ({@code short[]}, rounded to nearest even on write).
 */
final class CpuKvCache implements KvCache {
    final float[][] k;
    final float[][] v;
    final short[][] kh;
    final short[][] vh;
    private final int firstLayer;
    private final int layers;
    private final int numBlocks;
    private final int blockSize;
    private final int kvHeads;
    private final int headDim;
    private final DType dtype;

    CpuKvCache(int firstLayer, int layers, int numBlocks, int blockSize, int kvHeads, int headDim, DType dtype) {
        KvCacheDescriptor.elementBytes(dtype); // validates
        long per = (long) numBlocks * blockSize * kvHeads * headDim;
        if (per > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV cache of " + numBlocks + " blocks needs " + per
                    + " elements per layer, more than one Java array holds; lower the KV budget or the block count");
        }
        this.firstLayer = firstLayer;
        this.layers = layers;
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.dtype = dtype;
        if (dtype == DType.F32) {
            this.k = new float[layers][(int) per];
            this.v = new float[layers][(int) per];
            this.kh = null;
            this.vh = null;
        } else {
            this.k = null;
            this.v = null;
            this.kh = new short[layers][(int) per];
            this.vh = new short[layers][(int) per];
        }
    }

    int index(int layer) {
        int i = layer - firstLayer;
        if (i < 0 || i >= layers) {
            throw new IllegalArgumentException("layer " + layer + " is not in this KV cache's layers [" + firstLayer
                    + ", " + (firstLayer + layers) + ")");
        }
        return i;
    }

    @Override
    public int firstLayer() {
        return firstLayer;
    }

    @Override
    public int layers() {
        return layers;
    }

    @Override
    public int numBlocks() {
        return numBlocks;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public int kvHeads() {
        return kvHeads;
    }

    @Override
    public int headDim() {
        return headDim;
    }

    @Override
    public DType dtype() {
        return dtype;
    }
}
