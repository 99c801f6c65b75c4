package io.stoker.runtime.channel;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Two real processes exchange Arrow batches through a shared-memory channel. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SharedMemoryChannelTest {
    @TempDir
    Path dir;
    private BufferAllocator alloc;

    @BeforeEach
    void setUp() {
        alloc = new RootAllocator();
    }

    @AfterEach
    void tearDown() {
        alloc.close(); // fails the test if a decoded batch leaked
    }

    private Process child(Path file, int count, String mode) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-opens") || a.startsWith("--add-modules") || a.startsWith("-XX:+Ignore")) {
                cmd.add(a);
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(SharedMemoryWriterMain.class.getName());
        cmd.add(file.toString());
        cmd.add(Integer.toString(count));
        cmd.add(mode);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile())
                .start();
    }

    @Test
    void shouldCarryArrowBatchesFromAnotherProcessInOrder() throws Exception {
        SharedMemoryChannel<VectorSchemaRoot> ch = SharedMemoryChannel.create("batches", dir, 1 << 20,
                new ArrowIpcCodec(alloc));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(ch.file()))).isEqualTo("rw-------");
        int batches = 200;
        Process p = child(ch.file(), batches, "close");
        int next = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (next < batches) {
            VectorSchemaRoot root = ch.poll();
            if (root == null) {
                assertThat(System.nanoTime()).as("child log: %s", dir.resolve("child.log")).isLessThan(deadline);
                Thread.sleep(1);
                continue;
            }
            try (root) {
                assertThat(root.getRowCount()).isEqualTo(10);
                BigIntVector ids = (BigIntVector) root.getVector("id");
                VarCharVector text = (VarCharVector) root.getVector("text");
                for (int i = 0; i < 10; i++) {
                    assertThat(ids.get(i)).isEqualTo(next * 10L + i);
                    assertThat(new String(text.get(i))).isEqualTo("row " + (next * 10 + i));
                }
            }
            next++;
        }
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(Files.readString(dir.resolve("child.log"))).isZero();
        assertThat(ch.isClosed()).as("the writer closed its end").isTrue();
        Path file = ch.file();
        ch.close();
        assertThat(file).doesNotExist();
    }

    @Test
    void shouldReportClosedWhenTheWriterProcessIsKilled() throws Exception {
        SharedMemoryChannel<VectorSchemaRoot> ch = SharedMemoryChannel.create("killed", dir, 1 << 16,
                new ArrowIpcCodec(alloc));
        Process p = child(ch.file(), 1, "hang");
        VectorSchemaRoot first = null;
        while (first == null) {
            first = ch.poll();
            Thread.sleep(1);
        }
        first.close();
        assertThat(ch.isClosed()).isFalse();
        p.destroyForcibly().waitFor();
        long t0 = System.nanoTime();
        while (!ch.isClosed()) {
            assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)).isLessThan(30);
            Thread.sleep(50);
        }
        ch.close();
    }

    @Test
    void shouldRejectOversizedPayloadsAndImpossibleBudgets() throws Exception {
        SharedMemoryChannel<VectorSchemaRoot> ch = SharedMemoryChannel.create("small", dir, 1 << 16,
                new ArrowIpcCodec(alloc));
        try (BigIntVector big = new BigIntVector("id", alloc)) {
            big.allocateNew(10_000);
            big.setValueCount(10_000);
            VectorSchemaRoot root = VectorSchemaRoot.of(big);
            assertThatThrownBy(() -> ch.offer(root)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("shared-memory channel 'small': payload of")
                    .hasMessageContaining("exceeds the limit of " + ch.maxPayloadBytes() + " bytes");
        } finally {
            ch.close();
        }
        long free = Files.getFileStore(dir).getUsableSpace();
        if (free < (1L << 30)) {
            assertThatThrownBy(() -> SharedMemoryChannel.create("huge", dir, 1L << 30, new ArrowIpcCodec(alloc)))
                    .hasMessageContaining("needs").hasMessageContaining("are free");
        }
        assertThatThrownBy(() -> SharedMemoryChannel.create("tiny", dir, 1024, new ArrowIpcCodec(alloc)))
                .hasMessageContaining("budget 1024 bytes must be between 64 KiB and 1 GiB");
    }
}
