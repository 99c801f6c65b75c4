package io.stoker.spark.llm;

import io.stoker.spark.Stoker;
import io.stoker.spark.StokerSparkPlugin;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The API key of an OpenAI-compatible server reaches the server and nowhere else: not the logs (every event at DEBUG
 * for Stoker, INFO for Spark), not EXPLAIN (all plans), not the Spark UI (environment, jobs, SQL pages and the REST
 * API), not the event log.
 */
@Timeout(240)
class LlmApiKeyLeakTest {
    /** Collects every log event's message and stack trace text. */
    private static final class Capture extends AbstractAppender {
        final StringBuilder text = new StringBuilder();

        Capture() {
            super("stoker-key-capture", null, null, true, Property.EMPTY_ARRAY);
        }

        @Override
        public synchronized void append(LogEvent e) {
            text.append(e.getLoggerName()).append(' ').append(e.getMessage().getFormattedMessage()).append('\n');
            if (e.getThrown() != null) {
                java.io.StringWriter w = new java.io.StringWriter();
                e.getThrown().printStackTrace(new java.io.PrintWriter(w));
                text.append(w);
            }
        }
    }

    @Test
    void shouldKeepTheKeyOutOfLogsExplainTheUiAndTheEventLog() throws Exception {
        String key = "sk-stoker-" + UUID.randomUUID();
        Path eventLog = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "eventlog-");
        Capture capture = new Capture();
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        Configuration cfg = ctx.getConfiguration();
        capture.start();
        cfg.getRootLogger().addAppender(capture, Level.ALL, null);
        LoggerConfig stoker = new LoggerConfig("io.stoker", Level.DEBUG, true);
        cfg.addLogger("io.stoker", stoker);
        ctx.updateLoggers();
        SparkSession spark = null;
        try (FakeOpenAiServer server = new FakeOpenAiServer()) {
            spark = SparkSession.builder().master("local[2]").appName("LlmApiKeyLeakTest")
                    .config("spark.ui.enabled", "true")
                    .config("spark.ui.port", "0")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.eventLog.enabled", "true")
                    .config("spark.eventLog.dir", eventLog.toUri().toString())
                    .config("spark.eventLog.compress", "false")
                    .config("spark.sql.warehouse.dir", Path.of("target", "spark-warehouse").toAbsolutePath().toString())
                    .config("spark.plugins", StokerSparkPlugin.class.getName())
                    .config("spark.stoker.secret.openai", key)
                    .getOrCreate();
            Dataset<Row> in = spark.range(0, 12, 1, 2).selectExpr("id", "concat('q', id) AS q");
            Dataset<Row> out = in.transform(Stoker.llm(Llm.openai(server.baseUrl(), "m").maxTokens(3)
                    .apiKeyConf("spark.stoker.secret.openai")).prompt(col("q")));
            assertThat(out.collectAsList()).hasSize(12);
            assertThat(server.authorizations).hasSize(12).containsOnly("Bearer " + key);
            in.createOrReplaceTempView("leak");
            assertThat(spark.sql("SELECT llm_generate(q, 'model', 'm', 'base_url', '" + server.baseUrl()
                    + "', 'api_key_conf', 'spark.stoker.secret.openai').generated_text FROM leak").collectAsList())
                    .hasSize(12);

            List<String> explains = new ArrayList<>();
            explains.add(out.queryExecution().toString());
            for (String mode : new String[]{"simple", "extended", "codegen", "cost", "formatted"}) {
                explains.add(out.queryExecution().explainString(
                        org.apache.spark.sql.execution.ExplainMode.fromString(mode)));
            }
            assertThat(String.join("\n", explains)).contains("LlmGenerate").doesNotContain(key);

            String ui = spark.sparkContext().uiWebUrl().get();
            String app = spark.sparkContext().applicationId();
            StringBuilder pages = new StringBuilder();
            HttpClient http = HttpClient.newHttpClient();
            for (String p : new String[]{"/environment/", "/jobs/", "/stages/", "/SQL/", "/SQL/execution/?id=0",
                    "/SQL/execution/?id=1", "/executors/", "/api/v1/applications/" + app + "/environment",
                    "/api/v1/applications/" + app + "/sql?details=true&planDescription=true"}) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(ui + p)).build(),
                        HttpResponse.BodyHandlers.ofString());
                pages.append(r.body());
            }
            assertThat(pages.toString()).contains("spark.stoker.secret.openai").contains("LlmGenerate")
                    .doesNotContain(key);
        } finally {
            if (spark != null) {
                spark.stop();
            }
            cfg.getRootLogger().removeAppender(capture.getName());
            cfg.removeLogger("io.stoker");
            ctx.updateLoggers();
        }
        StringBuilder events = new StringBuilder();
        try (Stream<Path> files = Files.walk(eventLog)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                try (InputStream is = Files.newInputStream(f)) {
                    events.append(new String(is.readAllBytes(), StandardCharsets.UTF_8));
                }
            }
        }
        assertThat(events.toString()).contains("SparkListenerSQLExecutionStart").contains("LlmGenerate")
                .doesNotContain(key);
        assertThat(capture.text.toString()).contains("LLM HTTP processor").doesNotContain(key);
    }
}
