package io.stoker.llm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stoker.llm.TestModels;
import io.stoker.llm.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

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
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SAME_THREAD) // the CUDA device is bound to this thread
    void shouldPrintTheSameJsonOnTheCudaSimulatorAsOnTheCpu() throws Exception {
        String model = TestModels.hf(TestModels.GQA2, DType.F32).toString();
        String[] common = {"--model", model, "--prompt-ids", "5,17,300,41,9", "--max-tokens", "8", "--logprobs", "3",
            "--threads", "1", "--kv-cache-mb", "4", "--json", "--device"};
        Out cpu = run(concat(common, "cpu"));
        Out sim = run(concat(common, "cuda-sim"));
        assertThat(cpu.status()).as(cpu.err()).isZero();
        assertThat(sim.status()).as(sim.err()).isZero();
        ObjectMapper m = new ObjectMapper();
        JsonNode a = m.readTree(cpu.out());
        JsonNode b = m.readTree(sim.out());
        assertThat(b.get("prompt_ids")).isEqualTo(a.get("prompt_ids"));
        assertThat(b.get("token_ids")).hasSize(8).isEqualTo(a.get("token_ids"));
        assertThat(b.get("finish_reason")).isEqualTo(a.get("finish_reason"));
        assertThat(b.get("text")).isEqualTo(a.get("text"));
        for (int t = 0; t < 8; t++) {
            for (int k = 0; k < 3; k++) {
                JsonNode x = a.get("logprobs").get(t).get(k);
                JsonNode y = b.get("logprobs").get(t).get(k);
                assertThat(y.get(0).asInt()).as("step %d rank %d token", t, k).isEqualTo(x.get(0).asInt());
                assertThat(Math.abs(y.get(1).asDouble() - x.get(1).asDouble())).as("step %d rank %d logprob", t, k)
                        .isLessThan(1e-4);
            }
        }
        Out unknown = run("--model", model, "--prompt-ids", "1", "--device", "tpu");
        assertThat(unknown.status()).isEqualTo(2);
        assertThat(unknown.err()).contains("--device tpu is not known");
    }

    /**
     * {@code --tensor-parallel 2} and {@code --pipeline-parallel 2}, on CPU actors and on GPU actors of the CUDA
     * simulator (TP ranks over simulated NCCL), print the JSON of the single-worker CPU run: same prompt and token ids,
     * text and finish reason, same top-3 logprob tokens, logprobs within 1e-4.
     */
    @Test
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SAME_THREAD)
    void shouldPrintTheSameJsonWithTensorOrPipelineParallelismOnCpuAndCudaSimulator() throws Exception {
        String model = TestModels.hf(TestModels.ENGINE, DType.F32).toString(); // 4 heads, 2 KV heads, 4 layers
        String[] common = {"--model", model, "--prompt-ids", "5,17,300,41,9", "--max-tokens", "8", "--logprobs", "3",
            "--threads", "1", "--kv-cache-mb", "4", "--json"};
        Out single = run(concat(common, "--device", "cpu"));
        assertThat(single.status()).as(single.err()).isZero();
        ObjectMapper m = new ObjectMapper();
        JsonNode a = m.readTree(single.out());
        for (String flag : new String[] {"--tensor-parallel", "--pipeline-parallel"}) {
            for (String device : new String[] {"cpu", "cuda-sim"}) {
                Out par = run(concat(common, "--device", device, flag, "2"));
                assertThat(par.status()).as(device + " " + flag + ": " + par.err()).isZero();
                JsonNode b = m.readTree(par.out());
                assertThat(fieldNames(b)).as("%s %s 2: fields", device, flag).isEqualTo(fieldNames(a));
                assertThat(b.get("prompt_ids")).isEqualTo(a.get("prompt_ids"));
                assertThat(b.get("token_ids")).as("%s %s 2: tokens", device, flag).hasSize(8)
                        .isEqualTo(a.get("token_ids"));
                assertThat(b.get("finish_reason")).isEqualTo(a.get("finish_reason"));
                assertThat(b.get("text")).isEqualTo(a.get("text"));
                for (int t = 0; t < 8; t++) {
                    for (int k = 0; k < 3; k++) {
                        JsonNode x = a.get("logprobs").get(t).get(k);
                        JsonNode y = b.get("logprobs").get(t).get(k);
                        assertThat(y.get(0).asInt()).as("%s %s: step %d rank %d token", device, flag, t, k)
                                .isEqualTo(x.get(0).asInt());
                        assertThat(Math.abs(y.get(1).asDouble() - x.get(1).asDouble()))
                                .as("%s %s: step %d rank %d logprob", device, flag, t, k).isLessThan(1e-4);
                    }
                }
            }
        }
        Out both = run(concat(common, "--tensor-parallel", "2", "--pipeline-parallel", "2"));
        assertThat(both.status()).isEqualTo(2);
        assertThat(both.err()).contains("not both");
        Out one = run(concat(common, "--device", "cuda:1", "--tensor-parallel", "2"));
        assertThat(one.status()).isEqualTo(2);
        assertThat(one.err()).contains("--device cuda:1 names one GPU");
        Out three = run(concat(common, "--tensor-parallel", "3"));
        assertThat(three.status()).as(three.err()).isNotZero();
        assertThat(three.err()).contains("tensor-parallel size 3 must divide num_attention_heads=4");
    }

    private static java.util.List<String> fieldNames(JsonNode n) {
        java.util.List<String> out = new java.util.ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    private static String[] concat(String[] a, String... more) {
        String[] out = java.util.Arrays.copyOf(a, a.length + more.length);
        System.arraycopy(more, 0, out, a.length, more.length);
        return out;
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
