package io.stoker.llm.backend.cuda;

import io.stoker.llm.kv.KvCache;
import io.stoker.llm.kv.KvCacheDescriptor;
import io.stoker.llm.tensor.DType;
import io.stoker.runtime.cuda.CudaDataType;
import io.stoker.runtime.cuda.DeviceBuffer;

/** The paged KV cache in device memory: per layer one buffer for K and one for V, as {@link KvCacheDescriptor}. */
final class CudaKvCache implements KvCache {
    final DeviceBuffer[] k;
    final DeviceBuffer[] v;
    private final int firstLayer;
    private final int numBlocks;
    private final int blockSize;
    private final int kvHeads;
    private final int headDim;
    private final DType dtype;

    CudaKvCache(int firstLayer, DeviceBuffer[] k, DeviceBuffer[] v, int numBlocks, int blockSize, int kvHeads,
                int headDim, DType dtype) {
        this.firstLayer = firstLayer;
        this.k = k;
        this.v = v;
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.dtype = dtype;
    }

    int index(int layer) {
        int i = layer - firstLayer;
        if (i < 0 || i >= k.length) {
            throw new IllegalArgumentException("layer " + layer + " is not in this KV cache's layers [" + firstLayer
                    + ", " + (firstLayer + k.length) + ")");
        }
        return i;
    }

    CudaDataType cudaType() {
        return CudaTensor.cudaType(dtype);
    }

    @Override
    public int firstLayer() {
        return firstLayer;
    }

    @Override
    public int layers() {
        return k.length;
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
