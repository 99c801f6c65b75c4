package io.stoker.spark.artifact;

import com.codahale.metrics.MetricRegistry;
import io.stoker.spark.metrics.StokerMetrics;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
class ArtifactCacheTest {
    @TempDir
    Path tmp;

    private StokerMetrics metrics() {
        return new StokerMetrics(new MetricRegistry(), () -> 0, () -> 0);
    }

    private Path modelDir() throws Exception {
        Path m = tmp.resolve("remote/model");
        Files.createDirectories(m.resolve("shards"));
        Files.writeString(m.resolve("config.txt"), "llama-tiny\nlayers=2\n");
        byte[] big = new byte[300_000];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31);
        }
        Files.write(m.resolve("shards/w0.bin"), big);
        return m;
    }

    @Test
    void shouldFetchOnceWhenManyThreadsAskAtOnce() throws Exception {
        Path m = modelDir();
        StokerMetrics metrics = metrics();
        ArtifactCache cache = new ArtifactCache(tmp.resolve("cache"), new Configuration(), metrics);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Path>> fs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            fs.add(pool.submit(() -> {
                go.await();
                return cache.fetch(m.toUri().toString());
            }));
        }
        go.countDown();
        Path first = fs.get(0).get();
        for (Future<Path> f : fs) {
            assertThat(f.get()).isEqualTo(first);
        }
        pool.shutdown();
        assertThat(metrics.snapshot().get(StokerMetrics.ARTIFACT_FETCHES)).isEqualTo(1);
        assertThat(Files.readString(first.resolve("config.txt"))).startsWith("llama-tiny");
        assertThat(Files.size(first.resolve("shards/w0.bin"))).isEqualTo(300_000);
        assertThat(metrics.snapshot().get(StokerMetrics.ARTIFACT_BYTES)).isEqualTo(300_000 + 20);
    }

    @Test
    void shouldReuseVerifiedCopyAndRefetchCorruptedOne() throws Exception {
        Path m = modelDir();
        StokerMetrics first = metrics();
        Path copy = new ArtifactCache(tmp.resolve("cache"), new Configuration(), first).fetch(m.toUri().toString());
        StokerMetrics second = metrics();
        new ArtifactCache(tmp.resolve("cache"), new Configuration(), second).fetch(m.toUri().toString());
        assertThat(second.snapshot()).containsEntry(StokerMetrics.ARTIFACT_CACHE_HITS, 1L)
                .containsEntry(StokerMetrics.ARTIFACT_FETCHES, 0L);
        byte[] b = Files.readAllBytes(copy.resolve("shards/w0.bin"));
        b[1000] ^= 1; // same size, different content: only the checksum notices
        Files.write(copy.resolve("shards/w0.bin"), b);
        StokerMetrics third = metrics();
        Path again = new ArtifactCache(tmp.resolve("cache"), new Configuration(), third).fetch(m.toUri().toString());
        assertThat(third.snapshot()).containsEntry(StokerMetrics.ARTIFACT_FETCHES, 1L);
        assertThat(Files.readAllBytes(again.resolve("shards/w0.bin")))
                .isEqualTo(Files.readAllBytes(m.resolve("shards/w0.bin")));
    }

    @Test
    void shouldCheckPinnedSha256OfAFile() throws Exception {
        Path f = tmp.resolve("vocab.txt");
        Files.writeString(f, "a b c");
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest("a b c".getBytes(StandardCharsets.UTF_8)));
        ArtifactCache cache = new ArtifactCache(tmp.resolve("cache"), new Configuration(), metrics());
        assertThat(Files.readString(cache.fetch(f.toUri() + "#sha256=" + sha))).isEqualTo("a b c");
        String wrong = "00" + sha.substring(2);
        assertThatThrownBy(() -> new ArtifactCache(tmp.resolve("cache2"), new Configuration(), metrics())
                .fetch(f.toUri() + "#sha256=" + wrong))
                .isInstanceOf(ArtifactException.class)
                .hasMessageContaining("has SHA-256 " + sha + " but the URI pins " + wrong);
    }

    @Test
    void shouldNameMissingArtifact() {
        ArtifactCache cache = new ArtifactCache(tmp.resolve("cache"), new Configuration(), metrics());
        assertThatThrownBy(() -> cache.fetch(tmp.resolve("nope").toUri().toString()))
                .hasMessageContaining("does not exist");
    }

    @Test
    void shouldBuildHadoopConfFromSparkHadoopEntries() {
        Configuration c = ArtifactCache.hadoopConfiguration(Map.of("spark.hadoop.fs.s3a.endpoint", "http://x",
                "spark.master", "local"));
        assertThat(c.get("fs.s3a.endpoint")).isEqualTo("http://x");
    }
}
