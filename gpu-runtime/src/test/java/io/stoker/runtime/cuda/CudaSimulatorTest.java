package io.stoker.runtime.cuda;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What the simulator itself guarantees, so that host code tested on it behaves on a GPU: it is loaded as driver,
 * cuBLAS and NVRTC; streams run lazily (missing synchronisation shows); device failures are sticky; a stale kernel
 * build is refused; contexts are per thread.
 */
@Timeout(60)
class CudaSimulatorTest {

    @BeforeEach
    void simulatorOnly() {
        CudaTestSupport.assumeSimulator();
    }

    @Test
    void shouldLoadTheSimulatorForEveryLibrary() {
        Cuda.load(CudaLibrary.NVRTC);
        Cuda.load(CudaLibrary.CUBLAS);
        Map<String, String> loaded = Cuda.loadedLibraries();
        assertThat(loaded).containsKeys("CUDA driver", "cuBLASLt", "cuBLAS", "NVRTC");
        assertThat(loaded.values()).allSatisfy(p -> assertThat(p).endsWith("libstoker-cudasim.so"));
        assertThat(Cuda.deviceCount()).isEqualTo(2);
        DeviceProperties p = Cuda.properties(1);
        assertThat(p.name()).contains("simulator");
        assertThat(p.maxThreadsPerBlock()).isEqualTo(1024);
        assertThat(p.warpSize()).isEqualTo(32);
        assertThat(p.arch()).isEqualTo(90);
        // the simulator reports an H200's memory: 3201 MHz, 6144 bits, so 2 x 3.201e9 x 768 B = 4.917 TB/s
        assertThat(p.memoryClockKhz()).isEqualTo(3201000);
        assertThat(p.memoryBusWidthBits()).isEqualTo(6144);
        assertThat(p.peakMemoryBandwidth()).isEqualTo(2.0 * 3.201e9 * 768);
    }

    @Test
    void shouldDeclareTheHandleSizesTheDriverAndNcclUse() {
        assertThat(Cuda.ipcMemHandleSize()).isEqualTo(64);
        assertThat(Cuda.ncclUniqueIdSize()).isEqualTo(128);
    }

    @Test
    void shouldRunStreamWorkOnlyWhenSynchronised() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config());
             DeviceBuffer buf = d.allocate(16, "buf"); PinnedBuffer host = d.allocatePinned(16)) {
            buf.copyFrom(new float[] {1, 2, 3, 4});
            FloatBuffer view = host.buffer().asFloatBuffer();
            view.put(0, -1f);
            buf.copyToAsync(host, 0, 0, 16, d.stream());
            assertThat(view.get(0)).as("not synchronised yet: the copy has not run").isEqualTo(-1f);
            assertThat(d.stream().isDone()).as("a query reports the pending work once").isFalse();
            d.stream().synchronize();
            assertThat(new float[] {view.get(0), view.get(1), view.get(2), view.get(3)}).containsExactly(1, 2, 3, 4);
            assertThat(d.stream().isDone()).isTrue();
        }
    }

    @Test
    void shouldOrderStreamsThroughEvents() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config());
             DeviceBuffer a = d.allocate(4L * 8, "a"); DeviceBuffer b = d.allocate(4L * 8, "b")) {
            CudaStream other = d.newStream();
            CudaEvent start = d.newEvent();
            CudaEvent written = d.newEvent();
            start.record(d.stream());
            a.fillFloatsAsync(3f, 8, d.stream());
            d.module(CudaTestSupport.checks()).function("scale").launch(d.stream(), LaunchConfig.of(1, 32),
                    new KernelArgs().ptr(a).f32(2f).i64(8));
            written.record(d.stream());
            other.waitFor(written);
            b.copyFromAsync(a, 0, 0, 32, other);
            other.synchronize(); // runs the main stream's work up to the event first
            float[] got = new float[8];
            b.copyTo(got);
            assertThat(got).containsOnly(6f);
            assertThat(written.isDone()).isTrue();
            assertThat(written.elapsedMillis(start)).isGreaterThanOrEqualTo(0f);
        }
    }

    @Test
    void shouldKeepAWaitOnADestroyedStreamValid() {
        // As on a GPU, a stream may be destroyed while another stream's queued wait (or an event) still names it:
        // the wait must find its work done. (The simulator once freed the stream: a use-after-free crash.)
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config()); DeviceBuffer a = d.allocate(16, "a")) {
            CudaStream other = d.newStream();
            CudaEvent written = d.newEvent();
            a.fillFloatsAsync(5f, 4, other);
            written.record(other);
            d.stream().waitFor(written);
            other.close();
            for (int i = 0; i < 64; i++) {
                d.newStream().close(); // reuse the freed memory, as a busy process would
            }
            d.stream().synchronize();
            float[] got = new float[4];
            a.copyTo(got);
            assertThat(got).containsOnly(5f);
            assertThat(written.isDone()).isTrue();
            written.close();
        }
    }

    @Test
    void shouldRefuseASourceNoKernelLibraryWasBuiltFrom() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config())) {
            CudaProgram edited = new CudaProgram("runtime_checks.cu", CudaTestSupport.checks().source() + "\n// edited\n",
                    Map.of(), List.of());
            assertThatThrownBy(() -> d.module(edited)).isInstanceOf(NvrtcCompileException.class)
                    .hasMessageContaining("runtime_checks.cu")
                    .hasMessageContaining("no loaded kernel library was built from this source");
        }
    }

    @Test
    void shouldRejectUnknownCompilerOptionsAsNvrtcDoes() {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config())) {
            CudaProgram p = CudaTestSupport.checks().withOptions(List.of("--no-such-option"));
            assertThatThrownBy(() -> d.module(p)).isInstanceOf(NvrtcCompileException.class)
                    .hasMessageContaining("NVRTC_ERROR_INVALID_OPTION").hasMessageContaining("--no-such-option");
        }
    }

    @Test
    void shouldInjectAnOutOfMemoryIntoTheNthLaunchAndLeaveTheContextUsable() {
        Cuda.load(CudaLibrary.DRIVER);
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config()); DeviceBuffer flag = d.allocate(4, "flag")) {
            flag.copyFrom(new int[] {0});
            CudaFunction f = d.module(CudaTestSupport.checks()).function("trap_if");
            CudaNative.simSetOption("inject_launch_error", "trap_if:2:2");
            try {
                f.launch(d.stream(), LaunchConfig.of(1, 32), new KernelArgs().ptr(flag));
                assertThatThrownBy(() -> f.launch(d.stream(), LaunchConfig.of(1, 32), new KernelArgs().ptr(flag)))
                        .isInstanceOf(CudaException.class).hasMessageContaining("CUDA_ERROR_OUT_OF_MEMORY")
                        .hasMessageContaining("inject_launch_error")
                        .satisfies(e -> assertThat(((CudaException) e).isFatal()).isFalse());
                f.launch(d.stream(), LaunchConfig.of(1, 32), new KernelArgs().ptr(flag));
                d.stream().synchronize();
            } finally {
                CudaNative.simSetOption("inject_launch_error", "");
            }
        }
    }

    @Test
    void shouldNotInjectWhenAnotherProcessCreatedTheMarkerFirst() throws Exception {
        Cuda.load(CudaLibrary.DRIVER);
        java.nio.file.Path marker = java.nio.file.Files.createTempFile("inject", ".marker"); // "another process"
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config()); DeviceBuffer flag = d.allocate(4, "flag")) {
            flag.copyFrom(new int[] {0});
            CudaFunction f = d.module(CudaTestSupport.checks()).function("trap_if");
            CudaNative.simSetOption("inject_launch_error_marker", marker.toString());
            CudaNative.simSetOption("inject_launch_error", "trap_if:1:2");
            try {
                f.launch(d.stream(), LaunchConfig.of(1, 32), new KernelArgs().ptr(flag));
                d.stream().synchronize();
            } finally {
                CudaNative.simSetOption("inject_launch_error", "");
                CudaNative.simSetOption("inject_launch_error_marker", "");
                java.nio.file.Files.deleteIfExists(marker);
            }
        }
    }

    @Test
    void shouldInjectAStickyIllegalAddressThatSurfacesAtTheNextSynchronisation() {
        Cuda.load(CudaLibrary.DRIVER);
        CudaDevice d = CudaDevice.open(1, CudaTestSupport.config());
        DeviceBuffer flag = d.allocate(4, "flag");
        flag.copyFrom(new int[] {0});
        CudaFunction f = d.module(CudaTestSupport.checks()).function("trap_if");
        CudaNative.simSetOption("inject_launch_error", "trap_if:1:700");
        try {
            f.launch(d.stream(), LaunchConfig.of(1, 32), new KernelArgs().ptr(flag));
            assertThatThrownBy(() -> d.stream().synchronize()).isInstanceOf(CudaException.class)
                    .hasMessageContaining("CUDA_ERROR_ILLEGAL_ADDRESS")
                    .satisfies(e -> assertThat(((CudaException) e).isFatal()).isTrue());
        } finally {
            CudaNative.simSetOption("inject_launch_error", "");
        }
        flag.close();
        assertThatThrownBy(d::close).isInstanceOf(CudaException.class);
        assertThatThrownBy(() -> CudaNative.simSetOption("inject_launch_error", "trap_if:0:700"))
                .hasMessageContaining("KERNEL:N:CODE");
    }

    @Test
    void shouldMakeADeviceTrapStickyAndFatal() {
        // device 1: its context is released (and so reset) when the device closes
        CudaDevice d = CudaDevice.open(1, CudaTestSupport.config());
        DeviceBuffer flag = d.allocate(4, "flag");
        flag.copyFrom(new int[] {1});
        d.module(CudaTestSupport.checks()).function("trap_if").launch(d.stream(), LaunchConfig.of(2, 32),
                new KernelArgs().ptr(flag));
        assertThatThrownBy(() -> d.stream().synchronize()).isInstanceOf(CudaException.class)
                .hasMessageContaining("CUDA_ERROR_LAUNCH_FAILED").hasMessageContaining("__trap()")
                .satisfies(e -> assertThat(((CudaException) e).isFatal()).isTrue());
        assertThatThrownBy(() -> d.allocate(1 << 20, "after")).isInstanceOf(CudaException.class)
                .hasMessageContaining("CUDA_ERROR_LAUNCH_FAILED");
        flag.close();
        assertThatThrownBy(d::close).isInstanceOf(CudaException.class);
        try (CudaDevice fresh = CudaDevice.open(1, CudaTestSupport.config()); DeviceBuffer ok = fresh.allocate(4, "ok")) {
            ok.copyFrom(new int[] {0});
            fresh.synchronize();
        }
    }

    @Test
    void shouldTrapAWarpShuffleWhoseMaskNamesMissingLanes() {
        CudaDevice d = CudaDevice.open(1, CudaTestSupport.config());
        try (DeviceBuffer x = d.allocate(64, "x")) {
            d.module(CudaTestSupport.checks()).function("full_mask_shuffle").launch(d.stream(), LaunchConfig.of(1, 16),
                    new KernelArgs().ptr(x));
            assertThatThrownBy(() -> d.stream().synchronize()).isInstanceOf(CudaException.class)
                    .hasMessageContaining("CUDA_ERROR_ILLEGAL_INSTRUCTION")
                    .hasMessageContaining("names lanes that are not threads of the block");
        }
        assertThatThrownBy(d::close).isInstanceOf(CudaException.class);
    }

    @Test
    void shouldKeepContextsPerThread() throws Exception {
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config())) {
            assertThat(CudaNative.ctxGetCurrent()).isEqualTo(d.context());
            AtomicLong elsewhere = new AtomicLong(-1);
            Thread t = new Thread(() -> elsewhere.set(CudaNative.ctxGetCurrent()));
            t.start();
            t.join();
            assertThat(elsewhere.get()).as("no context on a thread that bound none").isZero();
            Throwable[] seen = new Throwable[1];
            Thread u = new Thread(() -> {
                try {
                    d.allocate(16, "wrong thread");
                } catch (Throwable e) {
                    seen[0] = e;
                }
            }, "intruder");
            u.start();
            u.join();
            assertThat(seen[0]).isInstanceOf(IllegalStateException.class).hasMessageContaining("intruder");
            // the driver refuses work on a thread without a context (what a forgotten bind does on a GPU)
            Thread v = new Thread(() -> {
                try {
                    CudaNative.memAlloc(16);
                } catch (Throwable e) {
                    seen[0] = e;
                }
            });
            v.start();
            v.join();
            assertThat(seen[0]).isInstanceOf(CudaException.class).hasMessageContaining("CUDA_ERROR_INVALID_CONTEXT");
        }
    }

    @Test
    void shouldReportDeviceOutOfMemoryWithSizes() {
        long total = Cuda.properties(0).totalMemory();
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config().withMemoryBudget(4 * total))) {
            assertThatThrownBy(() -> d.allocate(total + 1, "huge")).isInstanceOf(DeviceOutOfMemoryException.class)
                    .hasMessageContaining("'huge'").hasMessageContaining(String.valueOf(total + 1))
                    .hasMessageContaining("free").hasMessageContaining("budget");
        }
    }
}
