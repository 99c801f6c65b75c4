package io.stoker.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The {@code bin/stoker serve} command line: options, the loopback rule, and a real start, request and stop. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ServeCommandTest {
    private static int run(CountDownLatch stop, ByteArrayOutputStream out, ByteArrayOutputStream err,
                           String... args) {
        return ServeCommand.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), stop);
    }

    @Test
    void shouldParseOptionsAndRefuseANonLoopbackHostWithoutAKey() {
        ServeCommand.Options o = ServeCommand.parse(new String[]{"--model", "/m", "--port", "0", "--max-pending", "9",
                "--kv-cache-mb", "64", "--threads", "1", "--served-model-name", "mine"});
        assertThat(o.serve().servedModelName()).isEqualTo("mine");
        assertThat(o.serve().maxPending()).isEqualTo(9);
        assertThat(o.serve().host()).isEqualTo("127.0.0.1");
        assertThat(o.serve().apiKey()).isNull();
        assertThat(o.engine().kvCacheBytes()).isEqualTo(64L << 20);
        assertThat(ServeCommand.parse(new String[]{"--model", "/m"}).serve().servedModelName()).isEqualTo("/m");
        assertThatThrownBy(() -> ServeCommand.parse(new String[]{"--model", "/m", "--host", "0.0.0.0"}))
                .hasMessageContaining("--host 0.0.0.0 is not a loopback address").hasMessageContaining("--api-key-env");
        assertThatThrownBy(() -> ServeCommand.parse(new String[]{"--model", "/m", "--host", "0.0.0.0",
                "--api-key-env", "STOKER_SURELY_UNSET_KEY_VAR"})).hasMessageContaining("STOKER_SURELY_UNSET_KEY_VAR");
        assertThatThrownBy(() -> ServeCommand.parse(new String[]{"--model", "/m", "--port", "x"}))
                .hasMessageContaining("--port x is not an integer");
        assertThatThrownBy(() -> ServeCommand.parse(new String[]{"--modle", "/m"}))
                .hasMessageContaining("unknown option '--modle'");
        assertThatThrownBy(() -> ServeCommand.parse(new String[]{}))
                .hasMessageContaining("--model is required");
    }

    @Test
    void shouldExitWithStatus2OnBadArgumentsAnd1OnAMissingModel() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertThat(run(new CountDownLatch(0), out, err, "--port", "-5", "--model", "/m")).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--port -5 must be in [0, 65535]").contains("usage:");
        err.reset();
        assertThat(run(new CountDownLatch(0), out, err, "--model", "/no/such/model")).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("cannot load --model /no/such/model");
    }

    @Test
    void shouldServeUntilStoppedAndAnswerAChatRequest() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        CountDownLatch stop = new CountDownLatch(1);
        int[] rc = {-1};
        Thread t = new Thread(() -> rc[0] = run(stop, out, err, "--model", ServeFixture.modelDir().toString(),
                "--port", "0", "--served-model-name", "cli-model", "--kv-cache-mb", "4", "--threads", "1"));
        t.start();
        Pattern p = Pattern.compile("serving cli-model at (http://127\\.0\\.0\\.1:\\d+/v1)");
        Matcher m = p.matcher("");
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!m.find() && System.nanoTime() < deadline) {
            Thread.sleep(50);
            m = p.matcher(out.toString(StandardCharsets.UTF_8));
        }
        assertThat(m.find(0)).as("started: %s / %s", out, err).isTrue();
        String base = m.group(1);
        JsonNode r = Http.post(base + "/chat/completions", "{\"model\": \"cli-model\", \"max_tokens\": 4,"
                + " \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}").json();
        assertThat(r.path("choices").path(0).path("message").path("role").asText()).isEqualTo("assistant");
        assertThat(r.path("usage").path("completion_tokens").asInt()).isBetween(1, 4);
        stop.countDown();
        t.join(30_000);
        assertThat(rc[0]).isZero();
        assertThatThrownBy(() -> Http.get(base + "/models")).as("stopped").isInstanceOf(java.io.IOException.class);
    }
}
