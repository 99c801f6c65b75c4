package io.stoker.llm.model;

/**
 * Which part of a model one instance runs: tensor-parallel {@code rank} of {@code worldSize} (heads, FFN columns
 * and vocabulary split evenly) and pipeline layers {@code [firstLayer, endLayer)}. The first stage embeds tokens,
 * the last computes logits.
 */
public record Partition(int rank, int worldSize, int firstLayer, int endLayer, boolean first, boolean last) {
    public Partition {
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("tensor-parallel rank " + rank + " of world size " + worldSize);
        }
        if (firstLayer < 0 || endLayer < firstLayer) {
            throw new IllegalArgumentException("layers [" + firstLayer + ", " + endLayer + ") are not a range");
        }
    }

    /** The whole model in one instance. */
    public static Partition whole(int layers) {
        return new Partition(0, 1, 0, layers, true, true);
    }

    public static Partition tensorShard(int rank, int worldSize, int layers) {
        return new Partition(rank, worldSize, 0, layers, true, true);
    }

    /** Stage {@code stage} of {@code stages}, layers split as evenly as possible (earlier stages get the extra). */
    public static Partition pipelineStage(int stage, int stages, int layers) {
        if (stages < 1 || stages > layers) {
            throw new IllegalArgumentException("pipeline of " + stages + " stages over " + layers + " layers");
        }
        int base = layers / stages;
        int extra = layers % stages;
        int start = stage * base + Math.min(stage, extra);
        int len = base + (stage < extra ? 1 : 0);
        return new Partition(0, 1, start, start + len, stage == 0, stage == stages - 1);
    }

    /** @return {@code [start, end)} of an evenly split dimension for this rank */
    public int sliceStart(int total) {
        return total / worldSize * rank;
    }

    public int sliceLen(int total) {
        return total / worldSize;
    }
}
