package io.stoker.llm.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * benchmarks/hf_decode_bench.py, the HF transformers side of the decode benchmark, with this machine's Python: where
 * torch and transformers are installed it times generate on the CPU at the small shape; where they are not (build
 * machines have no transformers) it prints one JSON error naming the missing package and exits 3. Bad options exit 2.
 */
@Timeout(120)
class HfDecodeBenchScriptTest {
    private static final Path SCRIPT = Path.of("..", "benchmarks", "hf_decode_bench.py");

    private static String python() {
        // Debian's python3 has torch; the first python3 on the PATH may be a build without it
        return Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    }

    private record Run(int code, String stdout) {
    }

    private static Run run(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(python(), SCRIPT.toString()));
        cmd.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            assumeTrue(false, "no python3 here: " + e.getMessage());
            throw e;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor(100, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out);
    }

    @Test
    void shouldTimeGenerateOrNameWhatIsMissingInOneJsonObject() throws Exception {
        assertThat(SCRIPT).isRegularFile();
        Run r = run("--shape", "small", "--device", "cpu", "--batches", "1,2", "--prompt-tokens", "4",
                "--new-tokens", "3");
        JsonNode j = new ObjectMapper().readTree(r.stdout());
        if (j.path("status").asText().equals("ok")) {
            assertThat(r.code()).isZero();
            assertThat(j.path("runs")).hasSize(2);
            for (JsonNode run : j.path("runs")) {
                assertThat(run.path("generated_tokens").asInt()).isEqualTo(3);
                assertThat(run.path("decode_tokens_per_s").asDouble()).isPositive();
                assertThat(run.path("tokens_per_s").asDouble()).isPositive();
            }
        } else {
            assertThat(j.path("status").asText()).isEqualTo("error");
            assertThat(j.path("error").asText()).containsPattern("(torch|transformers) is not importable");
            assertThat(r.code()).isEqualTo(3);
        }
    }

    @Test
    void shouldRejectABadBatchListByName() throws Exception {
        Run r = run("--batches", "1,x");
        assertThat(r.code()).isEqualTo(2);
    }
}
