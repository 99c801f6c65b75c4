package io.stoker.llm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Extracting the bundled demo model to a real directory: once, atomically, under races, and healing a bad copy. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class DemoModelExtractionTest {

    static byte[] bundled(String name) throws Exception {
        try (InputStream in = DemoModel.class.getClassLoader().getResourceAsStream(DemoModel.RESOURCES + name)) {
            return in.readAllBytes();
        }
    }

    static void assertSameAsBundled(Path dir) throws Exception {
        for (String f : DemoModel.FILES) {
            assertThat(Files.readAllBytes(dir.resolve(f))).as(f).isEqualTo(bundled(f));
        }
    }

    static List<String> entries(Path root) throws Exception {
        try (Stream<Path> s = Files.list(root)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    @Test
    void shouldExtractOnceIntoADirectoryNamedByContent(@TempDir Path root) throws Exception {
        Path dir = DemoModel.extract(root.resolve("cache"));
        assertThat(dir.getFileName().toString()).matches("demo-[0-9a-f]{16}");
        assertSameAsBundled(dir);
        Path weights = dir.resolve("model.safetensors");
        FileTime old = FileTime.fromMillis(1_000_000L);
        Files.setLastModifiedTime(weights, old);

        assertThat(DemoModel.extract(root.resolve("cache"))).isEqualTo(dir);
        assertThat(Files.getLastModifiedTime(weights)).as("an identical copy is reused, not rewritten").isEqualTo(old);
        assertThat(entries(root.resolve("cache"))).containsExactly(dir.getFileName().toString());
    }

    @Test
    void shouldLeaveOneCompleteCopyWhenManyExtractorsRace(@TempDir Path root) throws Exception {
        int n = 8;
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Path>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                // extract() without directory()'s per-JVM cache: the same file-system protocol separate JVMs run
                fs.add(pool.submit(() -> {
                    go.await();
                    return DemoModel.extract(root);
                }));
            }
            go.countDown();
            Path first = fs.get(0).get(60, TimeUnit.SECONDS);
            for (Future<Path> f : fs) {
                assertThat(f.get(60, TimeUnit.SECONDS)).isEqualTo(first);
            }
            assertSameAsBundled(first);
            assertThat(entries(root)).as("no temporary directories left behind")
                    .containsExactly(first.getFileName().toString());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void shouldReplaceACopyThatDiffersFromTheJar(@TempDir Path root) throws Exception {
        Path dir = DemoModel.extract(root);
        Files.write(dir.resolve("model.safetensors"), new byte[]{1, 2, 3});

        assertThat(DemoModel.extract(root)).isEqualTo(dir);
        assertSameAsBundled(dir);
        assertThat(entries(root)).anyMatch(e -> e.startsWith(dir.getFileName() + ".stale-"));
    }

    @Test
    void shouldLoadTheDemoModelOnlyByItsExactName() {
        assertThat(DemoModel.isDemo("demo")).isTrue();
        assertThat(DemoModel.isDemo("./demo")).isFalse();
        assertThatThrownBy(() -> ModelLoader.load("./demo")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not exist");
    }

    @Test
    void shouldReadTheHeldOutQuestions() {
        List<DemoModel.Question> qs = DemoModel.heldOut();
        assertThat(qs).hasSize(200);
        assertThat(qs).allSatisfy(q -> {
            assertThat(q.question()).isNotBlank();
            assertThat(q.answer()).isNotBlank();
        });
        assertThat(qs.stream().map(DemoModel.Question::question).distinct().count()).as("distinct questions")
                .isEqualTo(200);
        DemoModel.Question q = qs.get(0);
        assertThat(q.isCorrect(q.answer())).isTrue();
        assertThat(q.isCorrect(q.answer() + " ")).isFalse();
    }
}
