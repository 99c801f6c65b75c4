package io.stoker.llm.kv;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BlockPoolTest {
    static final int[] TOKENS = {1, 2, 3, 4, 5, 6, 7, 8};

    @Test
    void shouldAllocateLeastRecentlyFreedFirstAndReturnNoneWhenEmpty() {
        BlockPool p = new BlockPool(3, 4, true);
        int a = p.allocate();
        int b = p.allocate();
        int c = p.allocate();
        assertThat(new int[]{a, b, c}).containsExactly(0, 1, 2);
        assertThat(p.allocate()).isEqualTo(BlockPool.NONE);
        p.release(c);
        p.release(a);
        p.release(b);
        assertThat(p.freeBlocks()).isEqualTo(3);
        assertThat(new int[]{p.allocate(), p.allocate(), p.allocate()}).containsExactly(c, a, b);
    }

    @Test
    void shouldFindRegisteredBlocksOnlyForTheSameTokensAfterTheSamePrefix() {
        BlockPool p = new BlockPool(4, 4, true);
        int b0 = p.allocate();
        int b1 = p.allocate();
        long h0 = BlockPool.hash(0, TOKENS, 0, 4);
        long h1 = BlockPool.hash(h0, TOKENS, 4, 4);
        p.register(b0, h0, 0, TOKENS, 0);
        p.register(b1, h1, h0, TOKENS, 4);
        assertThat(p.lookup(h0, 0, TOKENS, 0)).isEqualTo(b0);
        assertThat(p.lookup(h1, h0, TOKENS, 4)).isEqualTo(b1);
        // a colliding hash with other tokens, or the same block after another prefix, is not a hit
        assertThat(p.lookup(h1, h0, new int[]{9, 9, 9, 9}, 0)).isEqualTo(BlockPool.NONE);
        assertThat(p.lookup(h1, 12345, TOKENS, 4)).isEqualTo(BlockPool.NONE);
        assertThat(BlockPool.hash(h0, TOKENS, 4, 4)).isNotEqualTo(BlockPool.hash(0, TOKENS, 4, 4));
    }

    @Test
    void shouldKeepCachedBlocksWhileFreeAndEvictThemOnlyWhenReused() {
        BlockPool p = new BlockPool(2, 4, true);
        int b = p.allocate();
        long h = BlockPool.hash(0, TOKENS, 0, 4);
        p.register(b, h, 0, TOKENS, 0);
        p.release(b);
        assertThat(p.freeBlocks()).isEqualTo(2);
        assertThat(p.lookup(h, 0, TOKENS, 0)).as("still cached while free").isEqualTo(b);
        p.acquire(b);
        assertThat(p.freeBlocks()).as("a hit leaves the free queue").isEqualTo(1);
        int other = p.allocate();
        assertThat(other).isNotEqualTo(b);
        assertThat(p.evictions()).isZero();
        p.release(b);
        p.release(other);
        // b was freed first, so it is reused first: its prefix is evicted
        assertThat(p.allocate()).isEqualTo(b);
        assertThat(p.evictions()).isEqualTo(1);
        assertThat(p.lookup(h, 0, TOKENS, 0)).isEqualTo(BlockPool.NONE);
    }

    @Test
    void shouldNotRegisterWhenCachingIsOffOrThePrefixIsAlreadyCached() {
        BlockPool off = new BlockPool(2, 4, false);
        int b = off.allocate();
        long h = BlockPool.hash(0, TOKENS, 0, 4);
        off.register(b, h, 0, TOKENS, 0);
        assertThat(off.lookup(h, 0, TOKENS, 0)).isEqualTo(BlockPool.NONE);
        BlockPool on = new BlockPool(2, 4, true);
        int x = on.allocate();
        int y = on.allocate();
        on.register(x, h, 0, TOKENS, 0);
        on.register(y, h, 0, TOKENS, 0); // same tokens computed twice in one step
        assertThat(on.lookup(h, 0, TOKENS, 0)).isEqualTo(x);
        assertThat(on.isCached(y)).isFalse();
    }

    @Test
    void shouldRejectReleasingAFreeBlock() {
        BlockPool p = new BlockPool(1, 4, true);
        int b = p.allocate();
        p.release(b);
        assertThatThrownBy(() -> p.release(b)).hasMessageContaining("released more often than taken");
    }
}
