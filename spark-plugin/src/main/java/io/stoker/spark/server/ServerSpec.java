package io.stoker.spark.server;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A managed OpenAI-compatible server, declared in configuration ({@code spark.stoker.server.<name>.*}): every
 * executor that needs it starts one server process per GPU group (or one, without GPUs) from the command template,
 * with {@code CUDA_VISIBLE_DEVICES} set to exactly the GPUs Spark assigned that group, waits for its health check,
 * restarts it with backoff when it dies, and stops it (and its children) with the executor. llmMap reaches it over
 * loopback with the LLM option {@code server=<name>}.
 *
 * <p>Template placeholders: {@code {model}}, {@code {port}}, {@code {host}} (127.0.0.1), {@code {gpus}} (GPUs in the
 * group), {@code {gpu_ids}} (their addresses, comma-separated). The command is split on whitespace (no shell).
 *
 * @param name           the server's name
 * @param command        the command template
 * @param model          the value of {model}, and the model id requests name
 * @param gpusPerServer  GPUs per server process; 0 = all of the executor's GPUs in one process
 * @param healthPath     polled until it answers 2xx, e.g. /health
 * @param startTimeoutMs how long a start may take before it counts as failed
 * @param maxRestarts    restarts after unexpected exits before the server is given up (its rows then fail)
 * @param env            extra environment variables
 */
public record ServerSpec(String name, String command, String model, int gpusPerServer, String healthPath,
                         long startTimeoutMs, int maxRestarts, Map<String, String> env) implements Serializable {
    private static final long serialVersionUID = 1L;
    /** {@code spark.stoker.server.} */
    public static final String PREFIX = "spark.stoker.server.";
    private static final Pattern KEY = Pattern.compile("spark\\.stoker\\.server\\.([A-Za-z0-9_-]+)\\.(.+)");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([a-z_]+)}");
    static final List<String> PLACEHOLDERS = List.of("model", "port", "host", "gpus", "gpu_ids");
    /** Option suffixes with their defaults and meanings (docs/configuration.md lists them). */
    public static final Map<String, String> OPTIONS = Map.of(
            "command", "(required) the command template",
            "model", "value of {model}; also the model id llmMap requests",
            "gpus", "GPUs per server process (0 = all of the executor's GPUs, one process)",
            "healthPath", "/health",
            "startTimeoutMs", "600000",
            "maxRestarts", "10",
            "env.<VAR>", "extra environment variable of the server process");

    public ServerSpec {
        env = Collections.unmodifiableMap(new TreeMap<>(env));
    }

    /** @return the command for one process, placeholders filled */
    public List<String> command(int port, List<String> gpuIds) {
        List<String> out = new ArrayList<>();
        for (String part : command.trim().split("\\s+")) {
            Matcher m = PLACEHOLDER.matcher(part);
            StringBuilder b = new StringBuilder();
            while (m.find()) {
                String v = switch (m.group(1)) {
                    case "model" -> model;
                    case "port" -> Integer.toString(port);
                    case "host" -> "127.0.0.1";
                    case "gpus" -> Integer.toString(gpuIds.size());
                    case "gpu_ids" -> String.join(",", gpuIds);
                    default -> throw new IllegalStateException(m.group(1));
                };
                m.appendReplacement(b, Matcher.quoteReplacement(v));
            }
            m.appendTail(b);
            out.add(b.toString());
        }
        return out;
    }

    /**
     * Parses every {@code spark.stoker.server.<name>.*} entry, adding each problem (naming the key) to
     * {@code problems}.
     */
    public static Map<String, ServerSpec> parse(Map<String, String> entries, List<String> problems) {
        Map<String, Map<String, String>> byName = new TreeMap<>();
        for (Map.Entry<String, String> e : entries.entrySet()) {
            if (!e.getKey().startsWith(PREFIX)) {
                continue;
            }
            Matcher m = KEY.matcher(e.getKey());
            String suffix = m.matches() ? m.group(2) : "";
            if (!m.matches() || !(OPTIONS.containsKey(suffix) || (suffix.startsWith("env.") && suffix.length() > 4))) {
                problems.add("unknown Stoker option " + e.getKey() + "; server options are spark.stoker.server.<name>."
                        + "{command,model,gpus,healthPath,startTimeoutMs,maxRestarts,env.<VAR>}");
                continue;
            }
            byName.computeIfAbsent(m.group(1), k -> new TreeMap<>()).put(suffix, e.getValue().trim());
        }
        Map<String, ServerSpec> out = new TreeMap<>();
        byName.forEach((name, o) -> {
            String key = PREFIX + name + ".";
            String command = o.getOrDefault("command", "");
            if (command.isEmpty()) {
                problems.add(key + "command is missing: a managed server needs its command template, e.g. vllm serve"
                        + " {model} --port {port} --tensor-parallel-size {gpus}");
                return;
            }
            Matcher m = PLACEHOLDER.matcher(command);
            boolean port = false;
            while (m.find()) {
                if (!PLACEHOLDERS.contains(m.group(1))) {
                    problems.add(key + "command has the unknown placeholder {" + m.group(1) + "}; the placeholders are"
                            + " " + PLACEHOLDERS);
                }
                port |= m.group(1).equals("port");
            }
            if (!port) {
                problems.add(key + "command must contain {port}: each server listens on a loopback port Stoker picks");
            }
            Map<String, String> env = new TreeMap<>();
            o.forEach((k, v) -> {
                if (k.startsWith("env.")) {
                    env.put(k.substring(4), v);
                }
            });
            try {
                out.put(name, new ServerSpec(name, command, o.getOrDefault("model", ""),
                        Integer.parseInt(o.getOrDefault("gpus", "0")), o.getOrDefault("healthPath", "/health"),
                        Long.parseLong(o.getOrDefault("startTimeoutMs", "600000")),
                        Integer.parseInt(o.getOrDefault("maxRestarts", "10")), env));
            } catch (NumberFormatException e) {
                problems.add(key + "{gpus,startTimeoutMs,maxRestarts} must be whole numbers: " + e.getMessage());
            }
        });
        return out;
    }

    /** @return the spec as configuration entries that {@link #parse} reads back */
    public Map<String, String> toMap() {
        Map<String, String> m = new TreeMap<>();
        String k = PREFIX + name + ".";
        m.put(k + "command", command);
        m.put(k + "model", model);
        m.put(k + "gpus", Integer.toString(gpusPerServer));
        m.put(k + "healthPath", healthPath);
        m.put(k + "startTimeoutMs", Long.toString(startTimeoutMs));
        m.put(k + "maxRestarts", Integer.toString(maxRestarts));
        env.forEach((v, x) -> m.put(k + "env." + v, x));
        return m;
    }
}
