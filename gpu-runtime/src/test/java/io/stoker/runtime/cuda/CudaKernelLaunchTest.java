package io.stoker.runtime.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * Kernels through the whole path: NVRTC compile, module load, argument packing, launch, copies. On the simulator by
 * default; {@link CudaKernelLaunchGpuTest} runs the same on a GPU.
 */
@Timeout(60)
class CudaKernelLaunchTest {

    @Test
    void shouldAddVectorsOfOddLength() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config())) {
            int n = 37;
            float[] a = new float[n];
            float[] b = new float[n];
            for (int i = 0; i < n; i++) {
                a[i] = i * 0.5f;
                b[i] = 100 - i;
            }
            try (DeviceBuffer da = d.allocate(4L * n, "a"); DeviceBuffer db = d.allocate(4L * n, "b");
                 DeviceBuffer dc = d.allocate(4L * n, "c")) {
                da.copyFrom(a);
                db.copyFrom(b);
                CudaFunction f = d.module(CudaTestSupport.checks()).function("vec_add");
                f.launch(d.stream(), LaunchConfig.covering(n, 32), new KernelArgs().ptr(da).ptr(db).ptr(dc).i32(n));
                float[] c = new float[n];
                dc.copyTo(c);
                for (int i = 0; i < n; i++) {
                    assertThat(c[i]).as("c[%d]", i).isEqualTo(a[i] + b[i]);
                }
            }
        }
    }

    @Test
    void shouldReduceRowsThroughDynamicSharedMemoryAndBarriers() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config())) {
            int rows = 7;
            int n = 37;
            float[] x = new float[rows * n];
            Random r = new Random(1);
            for (int i = 0; i < x.length; i++) {
                x[i] = r.nextFloat() - 0.5f;
            }
            try (DeviceBuffer dx = d.allocate(4L * x.length, "x"); DeviceBuffer out = d.allocate(4L * rows, "out")) {
                dx.copyFrom(x);
                int block = 64;
                d.module(CudaTestSupport.checks()).function("block_sum").launch(d.stream(),
                        LaunchConfig.of(rows, block).withShared(4 * block), new KernelArgs().ptr(dx).ptr(out).i32(n));
                float[] got = new float[rows];
                out.copyTo(got);
                for (int row = 0; row < rows; row++) {
                    double want = 0;
                    for (int i = 0; i < n; i++) {
                        want += x[row * n + i];
                    }
                    assertThat((double) got[row]).as("row %d", row).isCloseTo(want, within(1e-5));
                }
            }
        }
    }

    @Test
    void shouldShuffleAndReduceWithinWarps() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config())) {
            int n = 64;
            float[] x = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = i + 1;
            }
            try (DeviceBuffer dx = d.allocate(4L * n, "x"); DeviceBuffer sums = d.allocate(8, "sums");
                 DeviceBuffer lanes = d.allocate(4L * n, "lanes"); DeviceBuffer up = d.allocate(4L * n, "up");
                 DeviceBuffer down = d.allocate(4L * n, "down"); DeviceBuffer ballot = d.allocate(8, "ballot")) {
                dx.copyFrom(x);
                CudaModule m = d.module(CudaTestSupport.checks());
                m.function("warp_ops").launch(d.stream(), LaunchConfig.of(1, n),
                        new KernelArgs().ptr(dx).ptr(sums).ptr(lanes).ptr(up).ptr(down));
                float[] s = new float[2];
                float[] l = new float[n];
                float[] u = new float[n];
                float[] dn = new float[n];
                sums.copyTo(s);
                lanes.copyTo(l);
                up.copyTo(u);
                down.copyTo(dn);
                assertThat(s).containsExactly(528f, 1552f); // 1..32, 33..64
                for (int i = 0; i < n; i++) {
                    int lane = i % 32;
                    int base = i - lane;
                    assertThat(l[i]).as("indexed shuffle at %d", i).isEqualTo(x[base + (lane + 3) % 32]);
                    assertThat(u[i]).as("shuffle up at %d", i).isEqualTo(lane == 0 ? x[i] : x[i - 1]);
                    assertThat(dn[i]).as("shuffle down at %d", i).isEqualTo(lane == 31 ? x[i] : x[i + 1]);
                }
                float[] signs = new float[n];
                for (int i = 0; i < n; i++) {
                    signs[i] = (i % 3 == 0) ? 1 : -1;
                }
                dx.copyFrom(signs);
                m.function("ballot").launch(d.stream(), LaunchConfig.of(1, n), new KernelArgs().ptr(dx).ptr(ballot));
                int[] got = new int[2];
                ballot.copyTo(got);
                for (int w = 0; w < 2; w++) {
                    int want = 0;
                    for (int lane = 0; lane < 32; lane++) {
                        if (signs[w * 32 + lane] > 0) {
                            want |= 1 << lane;
                        }
                    }
                    assertThat(got[w]).as("ballot of warp %d", w).isEqualTo(want);
                }
            }
        }
    }

    @Test
    void shouldCountWithAtomicsAcrossBlocks() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config())) {
            int n = 300;
            int[] x = new int[n];
            int positives = 0;
            int max = Integer.MIN_VALUE;
            long sum = 0;
            Random r = new Random(7);
            for (int i = 0; i < n; i++) {
                x[i] = r.nextInt(2001) - 1000;
                positives += x[i] > 0 ? 1 : 0;
                max = Math.max(max, x[i]);
                sum += x[i];
            }
            try (DeviceBuffer dx = d.allocate(4L * n, "x"); DeviceBuffer acc = d.allocate(12, "acc")) {
                dx.copyFrom(x);
                acc.copyFrom(new int[] {0, Integer.MIN_VALUE, 0});
                d.module(CudaTestSupport.checks()).function("atomics").launch(d.stream(), LaunchConfig.covering(n, 128),
                        new KernelArgs().ptr(dx).i32(n).ptr(acc.address()).ptr(acc.address() + 4).ptr(acc.address() + 8));
                int[] got = new int[3];
                acc.copyTo(got);
                assertThat(got[0]).isEqualTo(positives);
                assertThat(got[1]).isEqualTo(max);
                assertThat((double) Float.intBitsToFloat(got[2])).isCloseTo((double) sum, within(1e-3));
            }
        }
    }

    @Test
    void shouldLetExitedThreadsLeaveBarriers() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config())) {
            int n = 20;
            try (DeviceBuffer out = d.allocate(4L * 64, "out")) {
                d.module(CudaTestSupport.checks()).function("early_exit").launch(d.stream(),
                        LaunchConfig.of(1, 64).withShared(4 * 64), new KernelArgs().ptr(out).i32(n));
                float[] got = new float[n];
                out.copyTo(got, 0, n, 0);
                for (int i = 0; i < n; i++) {
                    assertThat(got[i]).isEqualTo(n - 1 - i);
                }
            }
        }
    }

    @Test
    void shouldPassParametersOfMixedSizeAndAlignment() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config())) {
            CudaFunction f = d.module(CudaTestSupport.checks()).function("params_mix");
            if (f.paramSizes() != null) {
                assertThat(f.paramSizes()).containsExactly(1, 8, 4, 8, 8);
            }
            try (DeviceBuffer out = d.allocate(16, "out")) {
                f.launch(d.stream(), LaunchConfig.of(1, 1),
                        new KernelArgs().u8(200).f64(-2.5).i32(-7).i64(1L << 40).ptr(out));
                float[] got = new float[4];
                out.copyTo(got);
                assertThat(got).containsExactly(200f, -2.5f, -7f, (float) (1L << 40));
            }
        }
    }

    @Test
    void shouldIndexThreeDimensionalGrids() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config())) {
            try (DeviceBuffer out = d.allocate(4L * 30, "out")) {
                d.module(CudaTestSupport.checks()).function("grid3d").launch(d.stream(),
                        new LaunchConfig(5, 3, 2, 4, 2, 2, 0), new KernelArgs().ptr(out));
                int[] got = new int[30];
                out.copyTo(got);
                for (int i = 0; i < 30; i++) {
                    assertThat(got[i]).isEqualTo(i);
                }
            }
        }
    }

    @Test
    void shouldRejectArgumentsThatDoNotMatchTheKernel() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config())) {
            CudaFunction f = d.module(CudaTestSupport.checks()).function("vec_add");
            org.junit.jupiter.api.Assumptions.assumeTrue(f.paramSizes() != null, "driver reports parameter sizes");
            try (DeviceBuffer b = d.allocate(16, "b")) {
                assertThatThrownBy(() -> f.launch(d.stream(), LaunchConfig.of(1, 1),
                        new KernelArgs().ptr(b).ptr(b).ptr(b)))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("'vec_add'").hasMessageContaining("takes 4 parameters")
                        .hasMessageContaining("got 3");
                assertThatThrownBy(() -> f.launch(d.stream(), LaunchConfig.of(1, 1),
                        new KernelArgs().ptr(b).ptr(b).ptr(b).i64(4)))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[8, 8, 8, 4]");
            }
        }
    }

    @Test
    void shouldRejectLaunchesOutsideTheDeviceLimits() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config()); DeviceBuffer b = d.allocate(4096, "b")) {
            CudaFunction f = d.module(CudaTestSupport.checks()).function("block_sum");
            KernelArgs args = new KernelArgs().ptr(b).ptr(b).i32(1);
            assertThatThrownBy(() -> f.launch(d.stream(), LaunchConfig.of(1, 1025), args))
                    .isInstanceOf(CudaException.class).hasMessageContaining("cuLaunchKernel")
                    .hasMessageContaining("CUDA_ERROR_INVALID_VALUE").hasMessageContaining("block (1025,1,1)")
                    .satisfies(e -> assertThat(((CudaException) e).isFatal()).isFalse());
            assertThatThrownBy(() -> f.launch(d.stream(), new LaunchConfig(1, 1, 1, 32, 32, 2, 0), args))
                    .isInstanceOf(CudaException.class).hasMessageContaining("CUDA_ERROR_INVALID_VALUE");
            assertThatThrownBy(() -> f.launch(d.stream(), new LaunchConfig(1, 65536, 1, 32, 1, 1, 0), args))
                    .isInstanceOf(CudaException.class).hasMessageContaining("CUDA_ERROR_INVALID_VALUE");
            int limit = d.properties().maxSharedPerBlock();
            assertThatThrownBy(() -> f.launch(d.stream(), LaunchConfig.of(1, 32).withShared(limit + 4), args))
                    .isInstanceOf(CudaException.class).hasMessageContaining("CUDA_ERROR_INVALID_VALUE");
            // opting in raises the limit, up to the device's opt-in maximum
            f.setMaxDynamicSharedBytes(limit + 4096);
            f.launch(d.stream(), LaunchConfig.of(1, 32).withShared(limit + 4), args);
            d.stream().synchronize();
            assertThatThrownBy(() -> f.setMaxDynamicSharedBytes(d.properties().maxSharedPerBlockOptin() + 1))
                    .isInstanceOf(CudaException.class).hasMessageContaining("cuFuncSetAttribute");
        }
    }

    @Test
    void shouldNameAMissingKernel() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config())) {
            CudaModule m = d.module(CudaTestSupport.checks());
            assertThatThrownBy(() -> m.function("no_such_kernel")).isInstanceOf(CudaException.class)
                    .hasMessageContaining("cuModuleGetFunction").hasMessageContaining("CUDA_ERROR_NOT_FOUND");
        }
    }
}
