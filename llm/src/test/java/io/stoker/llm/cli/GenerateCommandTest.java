package io.stoker.llm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stoker.llm.TestModels;
import io.stoker.llm.tensor.DType;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The {@code bin/stoker generate} contract: one JSON object with the documented fields; usage errors exit 2. */
class GenerateCommandTest {
    private record Out(int status, String out, String err) {
    }

    private static Out run(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int rc = GenerateCommand.run(args, new PrintStream(o, true, StandardCharsets.UTF_8),
                new PrintStream(e, true, StandardCharsets.UTF_8));
        return new Out(rc, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    @Test
    void shouldPrintOneJsonObjectWithIdsTextFinishReasonAndLogprobs() throws Exception {
        String model = TestModels.hf(TestModels.GQA1, DType.F32).toString();
        Out r = run("--model", model, "--prompt-ids", "5,17,300", "--max-tokens", "6", "--logprobs", "3",
                "--threads", "1", "--kv-cache-mb", "4", "--json");
        assertThat(r.status()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("prompt_ids").toString()).isEqualTo("[5,17,300]");
        assertThat(j.get("token_ids")).hasSize(6);
        assertThat(j.get("finish_reason").asText()).isIn("stop", "length");
        assertThat(j.get("text").isTextual()).isTrue();
        assertThat(j.get("logprobs")).hasSize(6);
        JsonNode first = j.get("logprobs").get(0);
        assertThat(first).hasSize(3);
        assertThat(first.get(0).get(0).asInt()).as("greedy: best first").isEqualTo(j.get("token_ids").get(0).asInt());
        assertThat(first.get(0).get(1).asDouble()).isGreaterThanOrEqualTo(first.get(1).get(1).asDouble());
    }

    @Test
    void shouldEncodeTextPromptsAndReproduceSeededSampling() throws Exception {
        String model = TestModels.gguf(TestModels.GQA1, DType.Q8_0).toString();
        String[] args = {"--model", model, "--prompt", "Hello world", "--max-tokens", "5", "--temperature", "0.8",
            "--top-p", "0.9", "--seed", "42", "--threads", "1", "--kv-cache-mb", "4", "--json"};
        Out a = run(args);
        Out b = run(args);
        assertThat(a.status()).as(a.err()).isZero();
        assertThat(a.out()).isEqualTo(b.out());
        assertThat(new ObjectMapper().readTree(a.out()).get("prompt_ids")).hasSizeLessThan(11);
    }

    @Test
    void shouldExitWithStatus2OnBadArguments() {
        String model = TestModels.hf(TestModels.GQA1, DType.F32).toString();
        assertThat(run("--prompt-ids", "1").status()).isEqualTo(2);
        Out bad = run("--model", model, "--prompt-ids", "1,2", "--top-p", "1.5", "--json");
        assertThat(bad.status()).isEqualTo(2);
        assertThat(bad.err()).contains("top_p=1.5 must be in (0, 1]");
        Out both = run("--model", model, "--prompt", "x", "--prompt-ids", "1");
        assertThat(both.status()).isEqualTo(2);
        assertThat(run("--model", model, "--prompt-ids", "1,x").err()).contains("'x' is not an integer");
        assertThat(run("--model", "/nonexistent/model", "--prompt-ids", "1").err()).contains("does not exist");
    }
}
