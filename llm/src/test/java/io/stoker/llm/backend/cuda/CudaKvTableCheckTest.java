package io.stoker.llm.backend.cuda;

import io.stoker.llm.backend.Activation;
import io.stoker.llm.kv.KvCache;
import io.stoker.llm.model.ForwardBatch;
import io.stoker.llm.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The CUDA backend checks a batch's block tables on the host before any kernel indexes the cache with them: a token
 * beyond its sequence's table, or a block id a token reaches that is outside the cache, is refused with the token,
 * position or id named; block ids past what any token reaches are not the batch's business. On the CUDA simulator in
 * CI ({@code stoker.cuda=sim}).
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SAME_THREAD) // the device is bound to the test's thread
class CudaKvTableCheckTest {
    private static final int KV_HEADS = 2;
    private static final int HEAD_DIM = 4;
    private static final int BLOCK = 2;

    @Test
    void shouldRefuseTablesThatReachOutsideTheCache() {
        try (CudaBackend be = CudaBackend.open("0")) {
            KvCache cache = be.createKvCache(0, 1, 4, BLOCK, KV_HEADS, HEAD_DIM, DType.F32);
            int w = KV_HEADS * HEAD_DIM;
            Activation k = be.allocate("k", 3, w);
            Activation v = be.allocate("v", 3, w);
            be.copyFromHost(new float[3 * w], 0, 3, k);
            be.copyFromHost(new float[3 * w], 0, 3, v);
            // sequence 0: positions 0..2 (blocks 1 then 3); a trailing bad id (9) no token reaches is ignored
            ForwardBatch ok = new ForwardBatch(3, new int[3], new int[]{0, 1, 2}, new int[]{0, 0, 0},
                    new int[][]{{1, 3, 9}}, new int[]{2});
            assertThatCode(() -> be.kvWrite(cache, 0, k, v, ok)).doesNotThrowAnyException();

            ForwardBatch badId = new ForwardBatch(3, new int[3], new int[]{0, 1, 2}, new int[]{0, 0, 0},
                    new int[][]{{1, 7}}, new int[]{2});
            assertThatThrownBy(() -> be.kvWrite(cache, 0, k, v, badId)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("KV block id 7 is outside the cache's 4 blocks");

            ForwardBatch noBlock = new ForwardBatch(3, new int[3], new int[]{0, 1, 4}, new int[]{0, 0, 0},
                    new int[][]{{1, 3}}, new int[]{2});
            assertThatThrownBy(() -> be.kvWrite(cache, 0, k, v, noBlock)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("token 2 at position 4 has no KV block")
                    .hasMessageContaining("holds 2 blocks of 2");
        }
    }
}
