package io.stoker.benchmarks.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.load.GgufFile;
import io.stoker.llm.tensor.MappedTensor;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Map;

/** One JSON line of {@code bin/stoker bench engine}, plus helpers shared by the worker JVMs. */
final class BenchResult {
    private static final ObjectMapper JSON = new ObjectMapper();

    private BenchResult() {
    }

    /**
     * @return {@code {"engine", "dtype", "batch", "phase", "tokens_per_s", ...extra}}
     */
    static ObjectNode line(String engine, String dtype, int batch, String phase, double tokensPerS) {
        ObjectNode o = JSON.createObjectNode();
        o.put("engine", engine);
        o.put("dtype", dtype);
        o.put("batch", batch);
        o.put("phase", phase);
        o.put("tokens_per_s", round(tokensPerS));
        return o;
    }

    static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    /**
     * Adds {@code gflops} (tokens/s x FLOPs per token) and {@code gflops_per_cpu_s} (the same work over the CPU time
     * the process used in the timed window: a figure that the machine's load disturbs much less than wall time).
     */
    static void flops(ObjectNode o, double flopsPerToken, long tokens, long wallNanos, long cpuNanos) {
        o.put("gflops", round(tokens * flopsPerToken / wallNanos));
        if (cpuNanos > 0) {
            o.put("gflops_per_cpu_s", round(tokens * flopsPerToken / cpuNanos));
            o.put("cpu_per_wall", round((double) cpuNanos / wallNanos));
        }
    }

    /** @return CPU time of this process (all threads, native ones included) in ns, or -1 */
    static long processCpuNanos() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean) {
            return ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
        }
        return -1;
    }

    /**
     * Matrix-multiply FLOPs of one decode token: 2 x the elements of every weight matrix a token goes through (attention
     * and MLP projections of every layer, and the LM head: {@code output.weight}, or the tied embedding). Attention
     * over the context is not counted (under 3% at these context lengths).
     */
    static double flopsPerToken(Path gguf) {
        GgufFile g = GgufFile.open(gguf);
        double n = 0;
        boolean head = false;
        for (Map.Entry<String, MappedTensor> e : g.tensors().entrySet()) {
            String name = e.getKey();
            MappedTensor t = e.getValue();
            if (name.startsWith("blk.") && t.rows() > 1) {
                n += (double) t.rows() * t.cols();
            } else if (name.equals("output.weight")) {
                n += (double) t.rows() * t.cols();
                head = true;
            }
        }
        if (!head) {
            MappedTensor e = g.tensors().get("token_embd.weight");
            n += (double) e.rows() * e.cols();
        }
        return 2 * n;
    }

    /** Parses worker arguments {@code key=value}. */
    static Map<String, String> args(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String a : args) {
            int eq = a.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("worker argument '" + a + "' is not key=value");
            }
            m.put(a.substring(0, eq), a.substring(eq + 1));
        }
        return m;
    }

    static String json(ObjectNode o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static ObjectNode parse(String line) throws IOException {
        return (ObjectNode) JSON.readTree(line);
    }

    /** @return this process's peak resident set size in MiB (VmHWM), or -1 off Linux */
    static long peakRssMb() {
        try {
            for (String l : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (l.startsWith("VmHWM:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /** Deterministic prompt ids (avoiding the first 3, special tokens in the random models). */
    static int[] prompt(int vocab, int n, int seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = 3 + (int) ((i * 7919L + seed * 104729L) % (vocab - 3));
        }
        return p;
    }
}
