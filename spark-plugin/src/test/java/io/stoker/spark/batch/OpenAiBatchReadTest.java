package io.stoker.spark.batch;

import io.stoker.spark.testing.LocalSpark;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code spark.read.format("openai-batch")} on local[2]: typed columns, error rows, splits, duplicates. */
@Timeout(120)
class OpenAiBatchReadTest {
    private static SparkSession spark;
    private static Path dir;

    @BeforeAll
    static void start() throws IOException {
        spark = LocalSpark.start("OpenAiBatchReadTest", Map.of());
        dir = Files.createDirectories(Path.of("target", "openai-batch-read").toAbsolutePath());
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    @BeforeEach
    void activeSession() {
        SparkSession.setActiveSession(spark);
    }

    private static Dataset<Row> read(Path file) {
        return spark.read().format("openai-batch").load(file.toString());
    }

    private static Map<Long, Row> byLine(Dataset<Row> df) {
        Map<Long, Row> m = new TreeMap<>();
        for (Row r : df.collectAsList()) {
            m.put(r.getAs("line"), r);
        }
        return m;
    }

    @Test
    void shouldReadChatAndCompletionRequestsIntoTypedColumns() {
        Path f = Requests.write(dir.resolve("typed.jsonl"), List.of(
                "{\"custom_id\": \"c1\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", \"body\": {\"model\":"
                        + " \"tiny\", \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\":"
                        + " \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Hello\"}, {\"type\": \"text\","
                        + " \"text\": \"there\"}, {\"type\": \"image_url\", \"image_url\": {\"url\": \"x\"}}]}],"
                        + " \"temperature\": 0.5, \"top_p\": 0.9, \"max_tokens\": 9, \"max_completion_tokens\": 3,"
                        + " \"stop\": \"END\", \"seed\": 12345678901, \"n\": 1, \"stream\": false, \"logprobs\": false,"
                        + " \"response_format\": {\"type\": \"json_object\"}, \"user\": null}}",
                Requests.completion("p1", "Once upon", "\"max_tokens\": 4, \"top_k\": 5, \"ignore_eos\": true,"
                        + " \"stop\": [\"a\", \"b\"], \"stop_token_ids\": [7, 8], \"n\": 2"),
                "{\"custom_id\": \"p2\", \"method\": \"POST\", \"url\": \"/v1/completions\", \"body\": {\"prompt\":"
                        + " [\"single\"]}}"));
        Dataset<Row> df = read(f);
        assertThat(df.columns()).containsExactly("custom_id", "method", "url", "model", "messages", "prompt",
                "sampling", "other_fields", "body", "file", "line", "line_error", "body_error");
        Map<Long, Row> rows = byLine(df);
        Row c1 = rows.get(1L);
        assertThat(c1.<String>getAs("custom_id")).isEqualTo("c1");
        assertThat(c1.<String>getAs("url")).isEqualTo("/v1/chat/completions");
        assertThat(c1.<String>getAs("model")).isEqualTo("tiny");
        List<Row> messages = c1.getList(c1.fieldIndex("messages"));
        assertThat(messages).hasSize(2);
        assertThat(messages.get(0).getString(0)).isEqualTo("system");
        assertThat(messages.get(1).getString(1)).isEqualTo("Hello\nthere");
        Row s = c1.getAs("sampling");
        assertThat(s.<Double>getAs("temperature")).isEqualTo(0.5);
        assertThat(s.<Double>getAs("top_p")).isEqualTo(0.9);
        assertThat(s.<Integer>getAs("max_tokens")).as("max_completion_tokens wins").isEqualTo(3);
        assertThat(s.getList(s.fieldIndex("stop"))).containsExactly("END");
        assertThat(s.<Long>getAs("seed")).isEqualTo(12345678901L);
        assertThat(s.<Object>getAs("top_k")).isNull();
        assertThat(c1.getList(c1.fieldIndex("other_fields"))).containsExactly(
                "messages[1].content[2] (image_url)", "response_format");
        assertThat(c1.<String>getAs("body")).startsWith("{\"model\":\"tiny\",\"messages\":");
        assertThat(c1.<String>getAs("file")).isEqualTo(f.toUri().toString().replace("file:///", "file:/"));
        assertThat(c1.<String>getAs("line_error")).isNull();
        assertThat(c1.<String>getAs("body_error")).isNull();

        Row p1 = rows.get(2L);
        assertThat(p1.<String>getAs("prompt")).isEqualTo("Once upon");
        assertThat(p1.<Object>getAs("messages")).isNull();
        Row ps = p1.getAs("sampling");
        assertThat(ps.<Integer>getAs("max_tokens")).isEqualTo(4);
        assertThat(ps.<Integer>getAs("top_k")).isEqualTo(5);
        assertThat(ps.<Boolean>getAs("ignore_eos")).isTrue();
        assertThat(ps.getList(ps.fieldIndex("stop"))).containsExactly("a", "b");
        assertThat(ps.getList(ps.fieldIndex("stop_token_ids"))).containsExactly(7, 8);
        assertThat(p1.getList(p1.fieldIndex("other_fields"))).containsExactly("n");
        assertThat(rows.get(3L).<String>getAs("prompt")).isEqualTo("single");
        assertThat(rows.get(3L).<String>getAs("model")).isNull();
    }

    /** Every kind of malformed line gets an error row naming its file, line and field; the good lines still run. */
    @Test
    void shouldTurnEachMalformedLineIntoAnErrorRowAndReadTheRest() throws IOException {
        Path f = dir.resolve("malformed.jsonl");
        String big = "x".repeat(3000);
        List<String> lines = List.of(
                Requests.chat("ok-1", "hi", ""),                                              // 1
                "{\"custom_id\": \"j\", \"method\": \"POST\", \"url\": ",                      // 2 truncated JSON
                "[1, 2, 3]",                                                                   // 3 not an object
                "{\"method\": \"POST\", \"url\": \"/v1/completions\", \"body\": {}}",          // 4 no custom_id
                "{\"custom_id\": 5, \"method\": \"POST\", \"url\": \"/v1/completions\", \"body\": {}}", // 5
                "{\"custom_id\": \"m\", \"method\": \"GET\", \"url\": \"/v1/completions\", \"body\": {}}", // 6
                "{\"custom_id\": \"u\", \"method\": \"POST\", \"url\": \"/v1/embeddings\", \"body\": {}}", // 7
                "{\"custom_id\": \"b\", \"method\": \"POST\", \"url\": \"/v1/completions\"}",   // 8 no body
                "{\"custom_id\": \"bs\", \"method\": \"POST\", \"url\": \"/v1/completions\", \"body\": \"x\"}", // 9
                "{\"custom_id\": \"nm\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", \"body\": {}}", // 10
                Requests.chat("t", "hi", "\"temperature\": \"hot\""),                          // 11
                Requests.completion("mt", "p", "\"max_tokens\": 1.5"),                         // 12
                Requests.completion("st", "p", "\"stop\": [1]"),                               // 13
                "",                                                                            // 14 blank
                Requests.chat("big", big, ""),                                                 // 15 over the limit
                "   ",                                                                         // 16 blank
                Requests.chat("dup-key", "hi", "\"seed\": 1, \"seed\": 2"),                    // 17 duplicate key
                Requests.chat("ok-2", "bye", "") + " trailing",                                // 18 trailing garbage
                Requests.completion("ok-3", "fine", ""));                                      // 19
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int i = 0; i < lines.size(); i++) {
            bytes.write(lines.get(i).getBytes(StandardCharsets.UTF_8));
            bytes.write(i == 0 ? new byte[]{'\r', '\n'} : new byte[]{'\n'});
        }
        // line 20: bad UTF-8 inside the content string
        bytes.write(Requests.chat("utf", "caf", "").replace("caf", "caf\u0001").getBytes(StandardCharsets.UTF_8));
        byte[] all = bytes.toByteArray();
        int at = indexOf(all, (byte) 1);
        all[at] = (byte) 0xC3;
        all[at + 1] = (byte) 0x28; // 0xC3 must be followed by a continuation byte
        Files.write(f, all);
        String file = "line %d of " + f.toUri().toString().replace("file:///", "file:/") + ": ";
        Map<Long, Row> rows = byLine(spark.read().format("openai-batch").option("maxLineBytes", 2000)
                .load(f.toString()));
        assertThat(rows.keySet()).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L, 13L, 15L, 17L,
                18L, 19L, 20L);
        Map<Long, String> lineErrors = new TreeMap<>();
        Map<Long, String> bodyErrors = new TreeMap<>();
        rows.forEach((line, r) -> {
            if (r.getAs("line_error") != null) {
                lineErrors.put(line, r.getAs("line_error"));
            }
            if (r.getAs("body_error") != null) {
                bodyErrors.put(line, r.getAs("body_error"));
            }
        });
        assertThat(lineErrors.keySet()).containsExactly(2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 15L, 17L, 18L, 20L);
        assertThat(bodyErrors.keySet()).containsExactly(10L, 11L, 12L, 13L);
        assertThat(lineErrors.get(2L)).startsWith(file.formatted(2)).contains("not valid JSON at column");
        assertThat(lineErrors.get(3L)).startsWith(file.formatted(3)).contains("must be a JSON object")
                .contains("not an array");
        assertThat(lineErrors.get(4L)).startsWith(file.formatted(4)).contains("custom_id is missing");
        assertThat(lineErrors.get(5L)).contains("custom_id must be a string, not a number 5");
        assertThat(lineErrors.get(6L)).contains("method must be \"POST\", not \"GET\"");
        assertThat(lineErrors.get(7L)).contains("url \"/v1/embeddings\" is not supported");
        assertThat(lineErrors.get(8L)).contains("body is missing");
        assertThat(lineErrors.get(9L)).contains("body must be a JSON object, not a string");
        assertThat(lineErrors.get(15L)).startsWith(file.formatted(15)).contains("over the limit of 2000 bytes")
                .contains("maxLineBytes");
        assertThat(lineErrors.get(17L)).contains("Duplicate field 'seed'");
        assertThat(lineErrors.get(18L)).contains("not valid JSON");
        assertThat(lineErrors.get(20L)).startsWith(file.formatted(20)).contains("not valid UTF-8 (byte 0xC3");
        assertThat(bodyErrors.get(10L)).startsWith(file.formatted(10)).contains("body.messages is missing");
        assertThat(bodyErrors.get(11L)).contains("body.temperature must be a number, not a string \"hot\"");
        assertThat(bodyErrors.get(12L)).contains("body.max_tokens must be a whole number, not a number 1.5");
        assertThat(bodyErrors.get(13L)).contains("body.stop[0] must be a string, not a number 1");
        // what could be read before the problem is kept: the custom_id of a line cut at the limit, of broken JSON
        assertThat(rows.get(15L).<String>getAs("custom_id")).isEqualTo("big");
        assertThat(rows.get(2L).<String>getAs("custom_id")).isEqualTo("j");
        assertThat(rows.get(11L).<String>getAs("custom_id")).isEqualTo("t");
        assertThat(rows.get(1L).<String>getAs("line_error")).isNull();
        assertThat(rows.get(1L).getList(rows.get(1L).fieldIndex("messages"))).hasSize(1);
        assertThat(rows.get(19L).<String>getAs("prompt")).isEqualTo("fine");
    }

    private static int indexOf(byte[] a, byte b) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == b) {
                return i;
            }
        }
        throw new AssertionError();
    }

    /**
     * Lines of random lengths (blank, CRLF, over the limit) read the same whatever the split size (the line index job
     * on Spark; every split size of small files is covered without Spark by LineReaderTest).
     */
    @Test
    void shouldReadEveryLineOnceWithItsNumberWhateverTheSplitSize() throws IOException {
        Random rnd = new Random(7);
        StringBuilder s = new StringBuilder();
        List<String> expected = new ArrayList<>();
        int n = 120;
        for (int i = 1; i <= n; i++) {
            int kind = rnd.nextInt(20);
            if (kind == 0) {
                s.append(kind % 2 == 0 ? "" : "  ").append('\n');
                continue;
            }
            String id = "r" + i;
            String line = kind == 1 ? Requests.chat(id, "y".repeat(600), "")
                    : Requests.chat(id, "x".repeat(rnd.nextInt(60)), "");
            s.append(line).append(kind == 2 ? "\r\n" : "\n");
            expected.add(i + ":" + id + ":" + (kind == 1));
        }
        s.append(Requests.completion("last", "no newline at the end", ""));
        expected.add((n + 1) + ":last:false");
        Path f = dir.resolve("splits.jsonl");
        Files.writeString(f, s.toString());
        for (long split : new long[]{1 << 20, 1500, 1501}) {
            Dataset<Row> df = spark.read().format("openai-batch").option("maxPartitionBytes", split)
                    .option("driverScanBytes", split == 1501 ? 0 : 1 << 20) // 0: line numbers from a Spark job
                    .option("maxLineBytes", 500).load(f.toString());
            List<String> got = new ArrayList<>();
            for (Row r : df.select("line", "custom_id", "line_error").orderBy("line").collectAsList()) {
                got.add(r.getLong(0) + ":" + r.getString(1) + ":" + (r.get(2) != null));
            }
            assertThat(got).as("split size " + split).isEqualTo(expected);
            long partitions = df.rdd().getNumPartitions();
            assertThat(partitions).as("partitions at split size " + split)
                    .isEqualTo((Files.size(f) + split - 1) / split);
        }
        // the default split size is Spark's spark.sql.files.maxPartitionBytes, in Spark's size syntax
        spark.conf().set("spark.sql.files.maxPartitionBytes", "2k");
        try {
            assertThat(spark.read().format("openai-batch").load(f.toString()).rdd().getNumPartitions())
                    .isEqualTo((Files.size(f) + 2047) / 2048);
        } finally {
            spark.conf().unset("spark.sql.files.maxPartitionBytes");
        }
        // minPartitions cuts a small file into that many partitions
        assertThat(spark.read().format("openai-batch").option("minPartitions", 4).load(f.toString()).rdd()
                .getNumPartitions()).isEqualTo(4);
    }

    @Test
    void shouldRefuseDuplicateCustomIdsWithTheirLineNumbersAcrossSplits() {
        List<String> lines = new ArrayList<>();
        for (int i = 1; i <= 60; i++) {
            String id = i == 45 || i == 52 ? "a" : i == 58 ? "b" : "r" + i;
            lines.add(i == 2 ? Requests.chat("a", "first", "") : i == 3 ? Requests.chat("b", "x", "")
                    : Requests.chat(id, "q" + i, ""));
        }
        Path f = Requests.write(dir.resolve("dups.jsonl"), lines);
        String file = f.toUri().toString().replace("file:///", "file:/");
        for (long driverScan : new long[]{0, 1 << 20}) { // a Spark job, then a scan on the driver
            Dataset<Row> df = spark.read().format("openai-batch").option("maxPartitionBytes", 500)
                    .option("driverScanBytes", driverScan).load(f.toString());
            assertThatThrownBy(df::count).isInstanceOf(DuplicateCustomIdException.class)
                    .hasMessageContaining("custom_id must be unique")
                    .hasMessageContaining("'a' is on lines 2, 45, 52 of " + file)
                    .hasMessageContaining("'b' is on lines 3, 58 of " + file)
                    .hasMessageContaining("checkDuplicates=false");
        }
        assertThat(spark.read().format("openai-batch").option("checkDuplicates", false).load(f.toString()).count())
                .isEqualTo(60);
    }

    @Test
    void shouldReadCompressedFilesAndDirectories() throws IOException {
        Path d = Files.createDirectories(dir.resolve("many"));
        Requests.write(d.resolve("a.jsonl"), List.of(Requests.chat("a1", "x", ""), Requests.chat("a2", "y", "")));
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(d.resolve("b.jsonl.gz")))) {
            out.write((Requests.completion("b1", "z", "") + "\n\n" + Requests.completion("b2", "w", "") + "\n")
                    .getBytes(StandardCharsets.UTF_8));
        }
        Requests.write(d.resolve("_ignored.jsonl"), List.of("not json"));
        List<String> got = new ArrayList<>();
        for (Row r : spark.read().format("openai-batch").load(d.toString()).orderBy("file", "line")
                .select("custom_id", "line", "prompt").collectAsList()) {
            got.add(r.getString(0) + "@" + r.getLong(1) + (r.get(2) == null ? "" : ":" + r.getString(2)));
        }
        assertThat(got).containsExactly("a1@1", "a2@2", "b1@1:z", "b2@3:w");
    }

    @Test
    void shouldRefuseUnknownOptionsAndMissingFilesNamingThem() {
        assertThatThrownBy(() -> spark.read().format("openai-batch").option("maxLineByte", 10)
                .load(dir.resolve("x.jsonl").toString()).count())
                .hasMessageContaining("unknown option 'maxLineByte' (did you mean 'maxLineBytes'?)");
        assertThatThrownBy(() -> spark.read().format("openai-batch").load(dir.resolve("absent.jsonl").toString())
                .count()).hasMessageContaining("no file at").hasMessageContaining("absent.jsonl");
    }
}
