package io.stoker.spark.batch;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The command line of bin/stoker batch, without Spark. */
class BatchArgumentsTest {
    @Test
    void shouldParseVllmStyleArgumentsIntoTheBatch() {
        BatchArguments a = BatchArguments.parse(List.of("-i", "hdfs:///in.jsonl", "--output-file=out.jsonl",
                "--model", "/models/m", "--served-model-name", "gpt-4o-mini, m", "--max-tokens", "64",
                "--temperature", "0", "--seed", "7", "--llm-option", "kv_cache_mb=32", "--conf",
                "spark.executor.cores=4", "--partitions", "8", "--commit-rows", "100", "--overwrite"));
        BatchSpec s = a.spec();
        assertThat(s.input()).isEqualTo("hdfs:///in.jsonl");
        assertThat(s.output()).isEqualTo("out.jsonl");
        assertThat(s.servedModels()).containsExactly("gpt-4o-mini", "m");
        assertThat(s.llm().options()).containsEntry("model", "/models/m").containsEntry("max_tokens", "64")
                .containsEntry("temperature", "0.0").containsEntry("seed", "7").containsEntry("kv_cache_mb", "32");
        assertThat(s.minPartitions()).isEqualTo(8);
        assertThat(s.commitRows()).isEqualTo(100);
        assertThat(s.overwrite()).isTrue();
        assertThat(s.localEngine()).isTrue();
        assertThat(a.sparkConf()).containsEntry("spark.executor.cores", "4");
        assertThat(BatchArguments.parse(List.of("-i", "a", "-o", "b", "--model", "m")).spec().servedModels())
                .as("served name defaults to --model").containsExactly("m");
        assertThat(BatchArguments.parse(List.of("-i", "a", "-o", "b", "--model", "target")).spec().llm().options())
                .as("a relative local model path is made absolute for the executors")
                .containsEntry("model", java.nio.file.Path.of("target").toAbsolutePath().toString());
    }

    @Test
    void shouldRefuseBadArgumentsNamingThem() {
        assertThatThrownBy(() -> BatchArguments.parse(List.of("--model", "m")))
                .hasMessageContaining("missing -i (the request file), -o (the output file)");
        assertThatThrownBy(() -> BatchArguments.parse(List.of("-i", "a", "-o", "b", "--model", "m", "--max-tokens",
                "0"))).hasMessageContaining("--max-tokens 0 must be in [1,");
        assertThatThrownBy(() -> BatchArguments.parse(List.of("-i", "a", "-o", "b", "--model", "m", "--bogus", "1")))
                .hasMessageContaining("unknown option --bogus");
        assertThatThrownBy(() -> BatchArguments.parse(List.of("-i", "a", "-o", "b", "--model", "m", "--llm-option",
                "max_tokenz=3")).spec()).hasMessageContaining("did you mean 'max_tokens'");
        assertThatThrownBy(() -> BatchArguments.parse(List.of("-i", "a", "-o", "b", "--model", "m",
                "--api-key-env", "KEY"))).hasMessageContaining("--api-key-env goes with --base-url");
    }

    /** --base-url only changes the call the batch makes: the same command, an OpenAI-compatible server's Llm. */
    @Test
    void shouldBuildAnHttpCallForBaseUrlAndDescribeTheOptions() {
        io.stoker.spark.llm.LlmSpec spec = BatchArguments.parse(List.of("-i", "in.jsonl", "-o", "out.jsonl", "--model",
                "gpt-4o-mini", "--base-url", "http://127.0.0.1:9/v1", "--api-key-env", "OPENAI_API_SECRET")).spec()
                .llm().spec();
        assertThat(spec.isHttp()).isTrue();
        assertThat(spec.http().baseUrl()).isEqualTo("http://127.0.0.1:9/v1");
        assertThat(spec.http().apiKeyEnv()).isEqualTo("OPENAI_API_SECRET");
        assertThat(spec.model()).isEqualTo("gpt-4o-mini");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(BatchCommand.run(List.of("--help"), new PrintStream(out, true, StandardCharsets.UTF_8),
                System.err)).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("-i, --input-file").contains("--base-url");
        assertThat(BatchCommand.run(List.of("-i", "x"), System.out, new PrintStream(new ByteArrayOutputStream())))
                .isEqualTo(2);
    }
}
