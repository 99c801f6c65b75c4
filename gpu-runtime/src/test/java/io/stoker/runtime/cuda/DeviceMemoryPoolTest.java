package io.stoker.runtime.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
class DeviceMemoryPoolTest {

    @Test
    void shouldRefuseAllocationsBeyondTheBudgetNamingTheSizes() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config().withMemoryBudget(8L << 20))) {
            try (DeviceBuffer a = d.allocate(5L << 20, "weights")) {
                assertThat(d.memory().inUse()).isEqualTo(6L << 20); // rounded to 2 MiB
                assertThatThrownBy(() -> d.allocate(3L << 20, "kv-cache"))
                        .isInstanceOf(DeviceOutOfMemoryException.class)
                        .hasMessageContaining("cannot allocate 3145728 bytes for 'kv-cache'")
                        .hasMessageContaining("budget is 8388608").hasMessageContaining("6291456 in use")
                        .hasMessageContaining("2097152 free");
            }
        }
    }

    @Test
    void shouldReuseFreedBlocksWithoutGrowing() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config())) {
            DeviceMemoryPool pool = d.memory();
            long before = pool.reserved();
            long addr;
            try (DeviceBuffer a = d.allocate(1000, "a")) {
                addr = a.address();
            }
            long after = pool.reserved();
            try (DeviceBuffer b = d.allocate(900, "b")) {
                assertThat(b.address()).as("same rounded size reuses the cached block").isEqualTo(addr);
                assertThat(pool.reserved()).isEqualTo(after);
            }
            assertThat(after - before).isEqualTo(1024);
            assertThat(pool.inUse()).isZero();
            pool.trim();
            assertThat(pool.reserved()).isEqualTo(pool.inUse());
        }
    }

    @Test
    void shouldFailCloseWhenBuffersLeak() {
        CudaDevice d = CudaDevice.open(0, CudaTestSupport.config());
        d.allocate(100, "forgotten");
        assertThatThrownBy(d::close).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("device memory leaked").hasMessageContaining("'forgotten' (100 bytes)");
    }

    @Test
    void shouldCheckCopyBounds() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config()); DeviceBuffer b = d.allocate(16, "small")) {
            assertThatThrownBy(() -> b.copyFrom(new float[5])).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("'small' of 16 bytes");
            DeviceBuffer tail = b.slice(8, 8);
            tail.copyFrom(new float[] {7, 8});
            float[] all = new float[4];
            b.copyTo(all, 0, 2, 8);
            assertThat(all[0]).isEqualTo(7);
            assertThat(all[1]).isEqualTo(8);
        }
    }
}
