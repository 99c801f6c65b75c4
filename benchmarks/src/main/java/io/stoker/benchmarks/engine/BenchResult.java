package io.stoker.benchmarks.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;

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
        o.put("tokens_per_s", Math.round(tokensPerS * 100) / 100.0);
        return o;
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
}
