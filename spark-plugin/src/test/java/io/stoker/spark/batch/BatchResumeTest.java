package io.stoker.spark.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stoker.spark.cli.LocalSparkHome;
import org.apache.commons.io.FileUtils;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bin/stoker batch}'s main class in child JVMs: a run killed with SIGKILL mid-way, then rerun with the same
 * command, gives the complete output: every line once, in input order, the answers committed before the kill kept
 * byte for byte (not generated again), and the same text for the same prompt whichever run answered it.
 */
@Timeout(600)
class BatchResumeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int LINES = 120;
    private static final int PROMPTS = 30;

    private static List<String> command(Path in, Path out) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(LocalSparkHome.jvmOptions());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(BatchCommand.class.getName());
        cmd.addAll(List.of("-i", in.toString(), "-o", out.toString(), "--model", io.stoker.spark.llm.TinyModels.path(),
                "--served-model-name", "tiny", "--master", "local[2]", "--partitions", "2", "--commit-rows", "4",
                "--temperature", "0", "--llm-option", "max_in_flight_per_task=4", "--llm-option", "batch_rows=2",
                "--conf", "spark.ui.enabled=false", "--quiet", "--json"));
        return cmd;
    }

    @Test
    void shouldLoseNothingAndWriteNothingTwiceWhenARunIsKilledMidWay() throws Exception {
        Path dir = Path.of("target", "batch-resume").toAbsolutePath();
        FileUtils.deleteDirectory(dir.toFile());
        Files.createDirectories(dir);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < LINES; i++) {
            lines.add(i == 17 ? "{\"custom_id\": \"r17\", \"method\": \"POST\", \"url\": \"/v1/completions\"}"
                    : Requests.chat("r" + i, "prompt number " + (i % PROMPTS), "\"max_tokens\": 12, \"ignore_eos\": true"));
        }
        Path in = Requests.write(dir.resolve("requests.jsonl"), lines);
        Path out = dir.resolve("results.jsonl");

        Process first = new ProcessBuilder(command(in, out)).redirectErrorStream(true)
                .redirectOutput(dir.resolve("first.log").toFile()).start();
        FileSystem fs = OutputFs.of(new org.apache.hadoop.fs.Path(out.toUri()), new Configuration());
        WorkDir work = new WorkDir(fs, new org.apache.hadoop.fs.Path(out.toUri()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (first.isAlive() && System.nanoTime() < deadline && (!work.exists() || work.parts().size() < 3)) {
            Thread.sleep(20);
        }
        assertThat(first.isAlive()).as("the first run is still running when 3 parts are committed (else make it"
                + " longer); log: " + dir.resolve("first.log")).isTrue();
        first.destroyForcibly(); // SIGKILL
        assertThat(first.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.exists(out)).as("no output before the run completes").isFalse();

        List<PartMeta> committed = work.parts();
        Map<Long, String> kept = new HashMap<>();
        long keptOk = 0;
        for (PartMeta m : committed) {
            keptOk += m.okRows();
            for (String rec : Files.readAllLines(Path.of(m.part().toUri()))) {
                PartDescriptor.Record r = PartDescriptor.decode(rec, m.part().toString());
                assertThat(kept.put(r.line(), r.json())).as("line " + r.line() + " in one committed part").isNull();
            }
        }
        assertThat(keptOk).as("answers committed before the kill").isBetween(3L, LINES - 10L);

        Process second = new ProcessBuilder(command(in, out)).redirectErrorStream(false)
                .redirectError(dir.resolve("second.log").toFile()).start();
        String summary = new String(second.getInputStream().readAllBytes()).trim();
        assertThat(second.waitFor(300, TimeUnit.SECONDS)).isTrue();
        assertThat(second.exitValue()).as("second run; log: " + dir.resolve("second.log")).isZero();
        JsonNode s = JSON.readTree(summary.substring(summary.lastIndexOf('{')));
        assertThat(s.get("lines").asLong()).isEqualTo(LINES);
        assertThat(s.get("from_earlier").asLong()).isEqualTo(keptOk);
        assertThat(s.get("ran_now").asLong()).isEqualTo(LINES - keptOk);
        assertThat(s.get("errors").asLong()).as("only the line without a body").isEqualTo(1);

        List<String> output = Files.readAllLines(out);
        assertThat(output).hasSize(LINES);
        Map<String, String> textByPrompt = new HashMap<>();
        for (int i = 0; i < LINES; i++) {
            JsonNode n = JSON.readTree(output.get(i));
            assertThat(n.get("custom_id").asText()).as("line " + (i + 1)).isEqualTo("r" + i);
            String before = kept.get((long) i + 1);
            if (before != null && !before.contains("\"error\":{")) {
                assertThat(output.get(i)).as("r" + i + " answered before the kill, kept as written").isEqualTo(before);
            }
            if (i == 17) {
                assertThat(n.get("error").get("message").asText()).contains("line 18 of").contains("body is missing");
                continue;
            }
            JsonNode body = n.get("response").get("body");
            assertThat(body.get("usage").get("completion_tokens").asInt()).isEqualTo(12);
            String text = body.get("choices").get(0).get("message").get("content").asText();
            String same = textByPrompt.putIfAbsent("p" + (i % PROMPTS), text);
            if (same != null) {
                assertThat(text).as("r" + i + ": the same prompt gives the same text in either run").isEqualTo(same);
            }
        }
        assertThat(Files.exists(dir.resolve("results.jsonl" + WorkDir.SUFFIX))).isFalse();
    }
}
