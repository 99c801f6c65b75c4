package io.stoker.benchmarks.spark.llm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.StringReader;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The benchmark's model-copy measure on real mappings of a real file, and its smaps parsing. */
class ProcessMemoryTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void shouldCountAFileMappedTwiceAsTwoResidentCopies() throws Exception {
        Path f = dir.resolve("weights.bin");
        Files.write(f, new byte[8 * MIB]);
        Set<String> files = ProcessMemory.weightFiles(f);
        long sizeKb = ProcessMemory.sizeKb(files);
        assertThat(sizeKb).isEqualTo(8 * 1024);
        assertThat(ProcessMemory.mapped(files).mappings()).isZero();
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            MappedByteBuffer one = ch.map(FileChannel.MapMode.READ_ONLY, 0, 8 * MIB);
            long sum = touch(one);
            ProcessMemory.Mapped first = ProcessMemory.mapped(files);
            MappedByteBuffer two = ch.map(FileChannel.MapMode.READ_ONLY, 0, 8 * MIB);
            sum += touch(two);
            ProcessMemory.Mapped both = ProcessMemory.mapped(files);
            assertThat(sum).isZero();
            assertThat(first.mappings()).isEqualTo(1);
            assertThat(first.rssKb() / (double) sizeKb).isBetween(0.99, 1.01);
            assertThat(both.mappings()).isEqualTo(2);
            assertThat(both.rssKb() / (double) sizeKb).isBetween(1.99, 2.01);
            java.lang.ref.Reference.reachabilityFence(one);
            java.lang.ref.Reference.reachabilityFence(two);
        }
    }

    private static long touch(MappedByteBuffer b) {
        long sum = 0;
        for (int i = 0; i < b.capacity(); i += 4096) {
            sum += b.get(i);
        }
        return sum;
    }

    @Test
    void shouldSumOnlyTheNamedFilesMappingsInSmapsText() throws Exception {
        String smaps = String.join("\n",
                "7f0000000000-7f0000100000 r--s 00000000 08:01 42                         /models/my model.gguf",
                "Size:               1024 kB",
                "Rss:                 600 kB",
                "Pss:                 300 kB",
                "7f0000100000-7f0000200000 rw-p 00000000 00:00 0 ",
                "Rss:                1024 kB",
                "7f0000200000-7f0000300000 r--s 00100000 08:01 42                         /models/my model.gguf (deleted)",
                "Rss:                  40 kB",
                "7f0000300000-7f0000400000 r--s 00000000 08:01 43                         /models/other.gguf",
                "Rss:                 999 kB",
                "");
        ProcessMemory.Mapped m = ProcessMemory.parseSmaps(new BufferedReader(new StringReader(smaps)),
                Set.of("/models/my model.gguf"));
        assertThat(m.mappings()).isEqualTo(2);
        assertThat(m.rssKb()).isEqualTo(640);
    }

    @Test
    void shouldReadThisProcesssPeakResidentSet() {
        long rss = ProcessMemory.statusKb("VmRSS");
        long hwm = ProcessMemory.statusKb("VmHWM"); // read second: the peak only grows
        assertThat(rss).isPositive();
        assertThat(hwm).isGreaterThanOrEqualTo(rss);
        assertThat(ProcessMemory.statusKb("NoSuchField")).isEqualTo(-1);
    }
}
