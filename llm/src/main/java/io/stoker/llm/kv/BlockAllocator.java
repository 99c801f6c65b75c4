package io.stoker.llm.kv;

/**
 * Hands out KV block ids from a fixed pool (a stack of free ids). Allocation never throws: {@link #allocate}
 * returns {@link #NONE} when the pool is empty and the scheduler preempts a sequence.
 *
 * <p>Thread-safety: used only by the scheduler's thread.
 */
public final class BlockAllocator {
    public static final int NONE = -1;

    private final int[] free;
    private int top;

    public BlockAllocator(int numBlocks) {
        this.free = new int[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            free[i] = numBlocks - 1 - i;
        }
        this.top = numBlocks;
    }

    /** @return a free block id, or {@link #NONE} when none is left */
    public int allocate() {
        return top == 0 ? NONE : free[--top];
    }

    public void release(int block) {
        free[top++] = block;
    }

    public int freeBlocks() {
        return top;
    }

    public int totalBlocks() {
        return free.length;
    }
}
