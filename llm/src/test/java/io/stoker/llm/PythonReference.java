package io.stoker.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Runs {@code src/test/python/reference.py} (float64, numpy + torch from Debian, as {@code /usr/bin/python3}) and
 * reads its output. Results are cached per (model, ids, quantization) within a JVM.
 */
public final class PythonReference {
    public static final String PYTHON = System.getProperty("stoker.test.python", "/usr/bin/python3");
    private static final Map<String, Result> CACHE = new HashMap<>();

    /** Reference output: logits {@code [positions][vocab]} of the prompt, then greedy continuation. */
    public record Result(double[][] logits, int[] greedy, double[] margins) {
    }

    private PythonReference() {
    }

    public static Result run(Path hfDir, int[] ids, int steps, String quantize) {
        return run(hfDir, ids, steps, quantize, "none");
    }

    /** @param kv {@code none}, or {@code f16}: keys and values rounded to binary16 as an f16 KV cache holds them */
    public static Result run(Path hfDir, int[] ids, int steps, String quantize, String kv) {
        return run(hfDir, ids, steps, quantize, kv, "none");
    }

    /**
     * @param act {@code none}, or {@code bf16} / {@code f16}: the inputs of every linear layer rounded to that type, as
     *            a device multiplying half-precision weights on tensor cores rounds its activations
     */
    public static synchronized Result run(Path hfDir, int[] ids, int steps, String quantize, String kv, String act) {
        String ids2 = Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(","));
        String key = hfDir + "|" + ids2 + "|" + steps + "|" + quantize + "|" + kv + "|" + act;
        Result cached = CACHE.get(key);
        if (cached != null) {
            return cached;
        }
        try {
            Path out = Files.createTempFile(Paths.get("target").toAbsolutePath(), "ref", "");
            Path script = Paths.get("src", "test", "python", "reference.py").toAbsolutePath();
            Process p = new ProcessBuilder(PYTHON, script.toString(), "--model", hfDir.toString(), "--ids", ids2,
                    "--steps", Integer.toString(steps), "--quantize", quantize, "--kv", kv, "--act", act, "--out",
                    out.toString())
                    .redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("reference.py failed (needs " + PYTHON + " with numpy and torch: apt-get"
                        + " install python3-numpy python3-torch):\n" + log);
            }
            JsonNode j = new ObjectMapper().readTree(Paths.get(out + ".json").toFile());
            int vocab = j.get("vocab").asInt();
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(Paths.get(out + ".logits"))).order(ByteOrder.LITTLE_ENDIAN);
            double[][] logits = new double[ids.length][vocab];
            for (double[] row : logits) {
                for (int i = 0; i < vocab; i++) {
                    row[i] = b.getDouble();
                }
            }
            int[] greedy = new int[j.get("greedy").size()];
            double[] margins = new double[greedy.length];
            for (int i = 0; i < greedy.length; i++) {
                greedy[i] = j.get("greedy").get(i).asInt();
                margins[i] = j.get("margins").get(i).asDouble();
            }
            Files.deleteIfExists(out);
            Files.deleteIfExists(Paths.get(out + ".json"));
            Files.deleteIfExists(Paths.get(out + ".logits"));
            Result r = new Result(logits, greedy, margins);
            CACHE.put(key, r);
            return r;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run reference.py: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
