package io.stoker.runtime.channel;

import io.stoker.runtime.cuda.CudaDataType;
import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaTestSupport;
import io.stoker.runtime.cuda.DeviceArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Two real processes on one (simulated) GPU exchange device arrays through a {@link CudaIpcChannel}: the child JVM
 * copies into slots of the parent's device memory that it mapped from CUDA IPC handles. On the simulator the memory
 * is shared through {@code /dev/shm} files, as a GPU shares it between two processes.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CudaIpcChannelTest {
    @TempDir
    Path dir;

    private Process writer(Path filled, Path free, int count, int elements) throws Exception {
        return ChildJvm.start(CudaIpcWriterMain.class, dir.resolve("writer.log"), filled.toString(), free.toString(),
                Integer.toString(count), Integer.toString(elements));
    }

    @Test
    void shouldCarryDeviceArraysFromAnotherProcessThroughIpcSlots() throws Exception {
        CudaTestSupport.assumeSimulator();
        int count = 12;
        int elements = 3000;
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config());
             CudaIpcChannel.Reader r = CudaIpcChannel.Reader.create("ipc", d, 2, elements * 4L, dir)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(r.filledFile())))
                    .isEqualTo("rw-------");
            Process p = writer(r.filledFile(), r.freeFile(), count, elements);
            try {
                ActorLocation here = ActorLocation.local("0");
                assertThat(GpuChannelPlanner.choose(new ActorLocation(here.host(), p.pid(), "0"), here))
                        .as("the planner's kind for a writer in another process on this node")
                        .isEqualTo(GpuChannelKind.CUDA_IPC);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
                for (int a = 0; a < count; ) {
                    DeviceArray view = r.poll();
                    if (view == null) {
                        assertThat(System.nanoTime()).as("writer log: %s", Files.readString(dir.resolve("writer.log")))
                                .isLessThan(deadline);
                        assertThat(r.isWriterClosed() && !p.isAlive()).as("writer died; log: %s",
                                Files.readString(dir.resolve("writer.log"))).isFalse();
                        Thread.sleep(1);
                        continue;
                    }
                    assertThat(view.type()).isEqualTo(CudaDataType.F32);
                    assertThat(view.count()).isEqualTo(elements);
                    float[] got = view.toFloats();
                    for (int i = 0; i < elements; i += 499) {
                        assertThat(got[i]).as("array %d element %d", a, i).isEqualTo(a * 1000 + i + 0.5f);
                    }
                    assertThat(got[elements - 1]).isEqualTo(a * 1000 + elements - 1 + 0.5f);
                    r.release(view);
                    a++;
                }
                assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
                String log = Files.readString(dir.resolve("writer.log"));
                assertThat(p.exitValue()).as("writer log: %s", log).isZero();
                assertThat(log).contains("SENT " + count)
                        .contains("REFUSED: CUDA IPC channel 'ipc': an array of " + (elements * 4 + 4)
                                + " bytes does not fit a slot of " + elements * 4 + " bytes");
                assertThat(r.isWriterClosed()).isTrue();
                assertThat(r.poll()).isNull();
            } finally {
                p.destroyForcibly();
            }
        }
    }

    @Test
    void shouldRefuseASlotViewFromElsewhereAndBadSizes() {
        CudaTestSupport.assumeSimulator();
        try (CudaDevice d = CudaDevice.open(0, CudaTestSupport.config())) {
            assertThatThrownBy(() -> CudaIpcChannel.Reader.create("bad", d, 0, 16, dir))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("slots=0 (1..1024)");
            try (CudaIpcChannel.Reader r = CudaIpcChannel.Reader.create("ipc", d, 1, 64, dir);
                 DeviceArray other = DeviceArray.of(d, new float[] {1, 2}, "other")) {
                assertThatThrownBy(() -> r.release(other)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("is not a slot of it");
                assertThat(r.poll()).isNull();
            }
        }
    }
}
