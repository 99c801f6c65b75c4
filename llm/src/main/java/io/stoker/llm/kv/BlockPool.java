package io.stoker.llm.kv;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The KV blocks of an engine, with automatic prefix caching (vLLM's design). A block holds {@code blockSize}
 * consecutive tokens of one or more sequences; sequences that share a prompt prefix share its full blocks.
 *
 * <ul>
 *   <li>Every block has a reference count (the sequences whose block tables hold it). A block with none is free and
 *       sits in an LRU queue: {@link #allocate} takes the least recently freed one.</li>
 *   <li>A full block whose KV is computed can be {@linkplain #register registered} under the chained hash of its
 *       tokens ({@code hash(parent hash, tokens)}, so it identifies the whole prefix up to it). A registered block stays
 *       registered while free, until {@link #allocate} reuses it for something else (eviction).</li>
 *   <li>{@link #lookup} finds a registered block and checks its tokens and parent hash, so a hash collision cannot hand
 *       a sequence someone else's KV; {@link #acquire} then takes a reference (reviving it from the free queue).</li>
 * </ul>
 * Outputs do not change with caching: the KV of a prefix is bit-identical however it was batched (batch invariance),
 * and a sequence never writes into a block it shares (only full blocks are shared; writes go to later positions).
 *
 * <p>Allocation never throws: {@link #allocate} returns {@link #NONE} when no block is free and the scheduler
 * preempts. Thread-safety: used only by the scheduler's thread.
 */
public final class BlockPool {
    public static final int NONE = -1;
    private static final long NO_HASH = 0;

    private final int blockSize;
    private final boolean caching;
    private final int[] refs;
    private final long[] hash;      // NO_HASH when not registered
    private final long[] parent;    // hash of the previous block of the prefix (NO_HASH for the first)
    private final int[][] contents; // the registered block's tokens, for verification
    private final int[] prev;       // free queue, doubly linked; head = least recently freed
    private final int[] next;
    private final boolean[] queued;
    private final Map<Long, Integer> registered = new HashMap<>();
    private int head = NONE;
    private int tail = NONE;
    private int free;
    private long evictions;

    public BlockPool(int numBlocks, int blockSize, boolean caching) {
        if (numBlocks < 1) {
            throw new IllegalArgumentException("a block pool needs at least one block, got " + numBlocks);
        }
        this.blockSize = blockSize;
        this.caching = caching;
        this.refs = new int[numBlocks];
        this.hash = new long[numBlocks];
        this.parent = new long[numBlocks];
        this.contents = new int[numBlocks][];
        this.prev = new int[numBlocks];
        this.next = new int[numBlocks];
        this.queued = new boolean[numBlocks];
        for (int b = 0; b < numBlocks; b++) {
            enqueue(b);
        }
    }

    public boolean caching() {
        return caching;
    }

    public int blockSize() {
        return blockSize;
    }

    /** @return blocks with no reference (some may still hold cached prefixes) */
    public int freeBlocks() {
        return free;
    }

    public int totalBlocks() {
        return refs.length;
    }

    /** @return cached blocks reused for new content since creation */
    public long evictions() {
        return evictions;
    }

    /** @return registered blocks (in use or free) */
    public int cachedBlocks() {
        return registered.size();
    }

    /** @return a block with one reference, evicting the least recently freed one's cached prefix; or {@link #NONE} */
    public int allocate() {
        int b = head;
        if (b == NONE) {
            return NONE;
        }
        dequeue(b);
        if (hash[b] != NO_HASH) {
            registered.remove(hash[b]);
            hash[b] = NO_HASH;
            contents[b] = null;
            evictions++;
        }
        refs[b] = 1;
        return b;
    }

    /** Takes a reference to a block found by {@link #lookup}; a free block leaves the free queue. */
    public void acquire(int b) {
        if (refs[b]++ == 0) {
            dequeue(b);
        }
    }

    /** Drops a reference; a block with none becomes the most recently freed (evicted last). */
    public void release(int b) {
        if (refs[b] <= 0) {
            throw new IllegalStateException("KV block " + b + " released more often than taken");
        }
        if (--refs[b] == 0) {
            enqueue(b);
        }
    }

    /**
     * @return the registered block holding exactly {@code tokens[off, off + blockSize)} after the prefix whose last
     * block hash is {@code parentHash}, or {@link #NONE}
     */
    public int lookup(long blockHash, long parentHash, int[] tokens, int off) {
        if (!caching) {
            return NONE;
        }
        Integer b = registered.get(blockHash);
        if (b == null || parent[b] != parentHash
                || !Arrays.equals(contents[b], 0, blockSize, tokens, off, off + blockSize)) {
            return NONE;
        }
        return b;
    }

    /**
     * Registers a full, computed block under its chained hash; does nothing when caching is off or the prefix is
     * already registered (another sequence computed the same tokens in the same step).
     */
    public void register(int b, long blockHash, long parentHash, int[] tokens, int off) {
        if (!caching || hash[b] != NO_HASH || registered.containsKey(blockHash)) {
            return;
        }
        hash[b] = blockHash;
        parent[b] = parentHash;
        contents[b] = Arrays.copyOfRange(tokens, off, off + blockSize);
        registered.put(blockHash, b);
    }

    /** @return whether block {@code b} is registered in the prefix cache */
    public boolean isCached(int b) {
        return hash[b] != NO_HASH;
    }

    /**
     * The chained hash of one full block: a 64-bit mix (SplitMix64 finalizer) over the parent's hash and the block's
     * tokens; never {@code 0}.
     */
    public static long hash(long parentHash, int[] tokens, int off, int len) {
        long h = parentHash ^ 0x6a09e667f3bcc909L;
        for (int i = 0; i < len; i++) {
            h = mix(h + 0x9e3779b97f4a7c15L + (tokens[off + i] & 0xffffffffL));
        }
        return h == NO_HASH ? 1 : h;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    private void enqueue(int b) {
        prev[b] = tail;
        next[b] = NONE;
        if (tail != NONE) {
            next[tail] = b;
        } else {
            head = b;
        }
        tail = b;
        queued[b] = true;
        free++;
    }

    private void dequeue(int b) {
        if (!queued[b]) {
            throw new IllegalStateException("KV block " + b + " is not free");
        }
        if (prev[b] != NONE) {
            next[prev[b]] = next[b];
        } else {
            head = next[b];
        }
        if (next[b] != NONE) {
            prev[next[b]] = prev[b];
        } else {
            tail = prev[b];
        }
        queued[b] = false;
        free--;
    }
}
