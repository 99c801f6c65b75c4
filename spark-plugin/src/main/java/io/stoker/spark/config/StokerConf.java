package io.stoker.spark.config;

import io.stoker.runtime.channel.IdleKind;
import io.stoker.spark.actor.ActorPoolSpec;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Validated Stoker settings of one application. Parsed once on the driver from every {@code spark.stoker.*} entry
 * of the Spark configuration (an unknown key or a malformed value fails startup, naming the key), then shipped to
 * the executors as the plugin's extra configuration ({@link #toMap()}) and parsed again there.
 *
 * <p>Immutable.
 *
 * @param enabled                  {@link StokerOption#ENABLED}
 * @param batchRows                {@link StokerOption#BATCH_ROWS}
 * @param maxBatchesInFlightPerTask {@link StokerOption#BATCH_MAX_IN_FLIGHT_PER_TASK}
 * @param batchTimeoutMillis       {@link StokerOption#BATCH_TIMEOUT_MS}
 * @param graphMaxInFlight         {@link StokerOption#GRAPH_MAX_IN_FLIGHT}
 * @param idle                     {@link StokerOption#RUNTIME_IDLE}
 * @param runtimeCpus              {@link StokerOption#RUNTIME_CPUS}; NaN: the JVM's available processors
 * @param actorStartTimeoutMillis  {@link StokerOption#ACTOR_START_TIMEOUT_MS}
 * @param gpuResource              {@link StokerOption#GPU_RESOURCE}
 * @param memoryLimitBytes         {@link StokerOption#MEMORY_LIMIT_BYTES}; Long.MAX_VALUE: no limit
 * @param artifactsCacheDir        {@link StokerOption#ARTIFACTS_CACHE_DIR}; empty: the executor default
 * @param reportToDriver           {@link StokerOption#METRICS_REPORT_TO_DRIVER}
 * @param pools                    actor pools declared in configuration, by name
 */
public record StokerConf(boolean enabled, int batchRows, int maxBatchesInFlightPerTask, long batchTimeoutMillis,
                         int graphMaxInFlight, IdleKind idle, double runtimeCpus, long actorStartTimeoutMillis,
                         String gpuResource, long memoryLimitBytes, String artifactsCacheDir, boolean reportToDriver,
                         Map<String, ActorPoolSpec> pools,
                         Map<String, io.stoker.spark.server.ServerSpec> servers) implements Serializable {

    private static final Pattern POOL_KEY = Pattern.compile("spark\\.stoker\\.pool\\.([^.]+)\\.(.+)");

    public StokerConf {
        pools = Collections.unmodifiableMap(new LinkedHashMap<>(pools));
        servers = Collections.unmodifiableMap(new LinkedHashMap<>(servers));
    }

    /** @return the settings of an application that sets no Stoker option */
    public static StokerConf defaults() {
        return parse(Map.of());
    }

    /**
     * Parses and validates every {@code spark.stoker.*} entry of {@code sparkConf}; other entries are ignored.
     *
     * @throws StokerConfException listing every unknown key and malformed value, each with the key and the fix
     */
    public static StokerConf parse(Map<String, String> sparkConf) {
        Map<String, String> stoker = new TreeMap<>();
        for (Map.Entry<String, String> e : sparkConf.entrySet()) {
            if (e.getKey().startsWith(StokerOption.PREFIX)) {
                stoker.put(e.getKey(), e.getValue() == null ? "" : e.getValue().trim());
            }
        }
        Parser p = new Parser(stoker);
        StokerConf conf = new StokerConf(
                p.bool(StokerOption.ENABLED),
                (int) p.longIn(StokerOption.BATCH_ROWS, 1, Integer.MAX_VALUE - 1),
                (int) p.longIn(StokerOption.BATCH_MAX_IN_FLIGHT_PER_TASK, 1, 1024),
                p.longIn(StokerOption.BATCH_TIMEOUT_MS, 1, Long.MAX_VALUE),
                (int) p.longIn(StokerOption.GRAPH_MAX_IN_FLIGHT, 1, 1 << 20),
                p.idle(StokerOption.RUNTIME_IDLE),
                p.optionalCpus(StokerOption.RUNTIME_CPUS),
                p.longIn(StokerOption.ACTOR_START_TIMEOUT_MS, 1, Long.MAX_VALUE),
                p.nonBlank(StokerOption.GPU_RESOURCE),
                p.optionalLong(StokerOption.MEMORY_LIMIT_BYTES, 1),
                p.string(StokerOption.ARTIFACTS_CACHE_DIR),
                p.bool(StokerOption.METRICS_REPORT_TO_DRIVER),
                p.pools(),
                p.servers());
        p.throwIfInvalid();
        return conf;
    }

    /** @return the conf as {@code spark.stoker.*} entries that {@link #parse} reads back to an equal conf */
    public Map<String, String> toMap() {
        Map<String, String> m = new TreeMap<>();
        m.put(StokerOption.ENABLED.key(), Boolean.toString(enabled));
        m.put(StokerOption.BATCH_ROWS.key(), Integer.toString(batchRows));
        m.put(StokerOption.BATCH_MAX_IN_FLIGHT_PER_TASK.key(), Integer.toString(maxBatchesInFlightPerTask));
        m.put(StokerOption.BATCH_TIMEOUT_MS.key(), Long.toString(batchTimeoutMillis));
        m.put(StokerOption.GRAPH_MAX_IN_FLIGHT.key(), Integer.toString(graphMaxInFlight));
        m.put(StokerOption.RUNTIME_IDLE.key(), idle.name().toLowerCase(java.util.Locale.ROOT));
        m.put(StokerOption.RUNTIME_CPUS.key(), Double.isNaN(runtimeCpus) ? "" : Double.toString(runtimeCpus));
        m.put(StokerOption.ACTOR_START_TIMEOUT_MS.key(), Long.toString(actorStartTimeoutMillis));
        m.put(StokerOption.GPU_RESOURCE.key(), gpuResource);
        m.put(StokerOption.MEMORY_LIMIT_BYTES.key(), memoryLimitBytes == Long.MAX_VALUE ? "" : Long.toString(memoryLimitBytes));
        m.put(StokerOption.ARTIFACTS_CACHE_DIR.key(), artifactsCacheDir);
        m.put(StokerOption.METRICS_REPORT_TO_DRIVER.key(), Boolean.toString(reportToDriver));
        for (ActorPoolSpec s : pools.values()) {
            String n = s.name();
            m.put(PoolOption.CLASS.key(n), s.className());
            m.put(PoolOption.COUNT.key(n), s.count() == ActorPoolSpec.AUTO ? "auto" : Integer.toString(s.count()));
            m.put(PoolOption.GPUS.key(n), Integer.toString(s.gpus()));
            m.put(PoolOption.CPUS.key(n), Double.toString(s.cpus()));
            m.put(PoolOption.EAGER.key(n), Boolean.toString(s.eager()));
            List<String> arts = new ArrayList<>();
            s.artifacts().forEach((alias, uri) -> arts.add(alias + "=" + uri));
            m.put(PoolOption.ARTIFACTS.key(n), String.join(",", arts));
            s.properties().forEach((k, v) -> m.put(PoolOption.PREFIX + n + ".property." + k, v));
        }
        for (io.stoker.spark.server.ServerSpec s : servers.values()) {
            m.putAll(s.toMap());
        }
        return m;
    }

    /** @return the CPU slots for the executor's runtime */
    public double effectiveRuntimeCpus() {
        return Double.isNaN(runtimeCpus) ? Runtime.getRuntime().availableProcessors() : runtimeCpus;
    }

    /** Reads values, collecting every problem so one startup error lists them all. */
    private static final class Parser {
        private final Map<String, String> entries;
        private final List<String> problems = new ArrayList<>();

        Parser(Map<String, String> entries) {
            this.entries = entries;
            List<String> known = new ArrayList<>();
            for (StokerOption o : StokerOption.values()) {
                known.add(o.key());
            }
            for (String key : entries.keySet()) {
                if (StokerOption.byKey(key) != null || key.startsWith(StokerOption.SECRET_PREFIX)
                        || key.startsWith(io.stoker.spark.server.ServerSpec.PREFIX)) {
                    continue;
                }
                if (key.startsWith(PoolOption.PREFIX)) {
                    java.util.regex.Matcher m = POOL_KEY.matcher(key);
                    if (!m.matches() || PoolOption.bySuffix(m.group(2)) == null) {
                        List<String> poolKeys = new ArrayList<>();
                        String pool = m.matches() ? m.group(1) : "<name>";
                        for (PoolOption o : PoolOption.values()) {
                            poolKeys.add(o.key(pool));
                        }
                        String hint = StokerOption.closest(key, poolKeys);
                        problems.add("unknown Stoker option " + key + (hint != null ? "; did you mean " + hint + "?"
                                : "; pool options are spark.stoker.pool.<name>.{class,count,gpus,cpus,eager,"
                                + "artifacts,property.<key>}"));
                    }
                    continue;
                }
                String hint = StokerOption.closest(key, known);
                problems.add("unknown Stoker option " + key + (hint != null ? "; did you mean " + hint + "?"
                        : "; see docs/configuration.md for the options"));
            }
        }

        private String raw(StokerOption o) {
            return entries.getOrDefault(o.key(), o.defaultValue());
        }

        boolean bool(StokerOption o) {
            return parseBool(o.key(), raw(o));
        }

        private boolean parseBool(String key, String v) {
            if (v.equalsIgnoreCase("true")) {
                return true;
            }
            if (!v.equalsIgnoreCase("false")) {
                problems.add(key + "=" + v + " must be true or false");
            }
            return false;
        }

        long longIn(StokerOption o, long min, long max) {
            return parseLong(o.key(), raw(o), min, max, Long.parseLong(o.defaultValue()));
        }

        private long parseLong(String key, String v, long min, long max, long fallback) {
            try {
                long x = Long.parseLong(v);
                if (x < min || x > max) {
                    problems.add(key + "=" + v + " must be " + (max == Long.MAX_VALUE || max == Integer.MAX_VALUE - 1
                            ? "≥ " + min : "between " + min + " and " + max));
                    return fallback;
                }
                return x;
            } catch (NumberFormatException e) {
                problems.add(key + "=" + v + " is not a whole number");
                return fallback;
            }
        }

        long optionalLong(StokerOption o, long min) {
            String v = raw(o);
            return v.isEmpty() ? Long.MAX_VALUE : parseLong(o.key(), v, min, Long.MAX_VALUE, Long.MAX_VALUE);
        }

        double optionalCpus(StokerOption o) {
            String v = raw(o);
            if (v.isEmpty()) {
                return Double.NaN;
            }
            return parseCpus(o.key(), v);
        }

        private double parseCpus(String key, String v) {
            try {
                double d = Double.parseDouble(v);
                if (!(d >= 0) || Double.isInfinite(d)) {
                    problems.add(key + "=" + v + " must be a finite number ≥ 0");
                    return 0;
                }
                return d;
            } catch (NumberFormatException e) {
                problems.add(key + "=" + v + " is not a number");
                return 0;
            }
        }

        IdleKind idle(StokerOption o) {
            try {
                return IdleKind.parse(o.key(), raw(o));
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
                return IdleKind.BACKOFF;
            }
        }

        String nonBlank(StokerOption o) {
            String v = raw(o);
            if (v.isEmpty()) {
                problems.add(o.key() + " must not be empty (default " + o.defaultValue() + ")");
                return o.defaultValue();
            }
            return v;
        }

        String string(StokerOption o) {
            return raw(o);
        }

        Map<String, io.stoker.spark.server.ServerSpec> servers() {
            return io.stoker.spark.server.ServerSpec.parse(entries, problems);
        }

        Map<String, ActorPoolSpec> pools() {
            Map<String, Map<String, String>> byPool = new TreeMap<>();
            for (Map.Entry<String, String> e : entries.entrySet()) {
                java.util.regex.Matcher m = POOL_KEY.matcher(e.getKey());
                if (m.matches() && PoolOption.bySuffix(m.group(2)) != null) {
                    byPool.computeIfAbsent(m.group(1), k -> new TreeMap<>()).put(m.group(2), e.getValue());
                }
            }
            Map<String, ActorPoolSpec> out = new LinkedHashMap<>();
            for (Map.Entry<String, Map<String, String>> e : byPool.entrySet()) {
                ActorPoolSpec s = pool(e.getKey(), e.getValue());
                if (s != null) {
                    out.put(s.name(), s);
                }
            }
            return out;
        }

        private ActorPoolSpec pool(String name, Map<String, String> o) {
            String cls = o.getOrDefault(PoolOption.CLASS.suffix(), "");
            if (cls.isEmpty()) {
                problems.add(PoolOption.CLASS.key(name) + " is missing: every configured actor pool needs the actor"
                        + " class (options seen for pool '" + name + "': " + new TreeSet<>(o.keySet()) + ")");
                return null;
            }
            int count = ActorPoolSpec.AUTO;
            String c = o.getOrDefault(PoolOption.COUNT.suffix(), "auto");
            if (!c.equalsIgnoreCase("auto")) {
                count = (int) parseLong(PoolOption.COUNT.key(name), c, 1, 4096, 1);
            }
            int gpus = (int) parseLong(PoolOption.GPUS.key(name), o.getOrDefault(PoolOption.GPUS.suffix(), "0"), 0,
                    4096, 0);
            double cpus = parseCpus(PoolOption.CPUS.key(name), o.getOrDefault(PoolOption.CPUS.suffix(), "0"));
            boolean eager = parseBool(PoolOption.EAGER.key(name), o.getOrDefault(PoolOption.EAGER.suffix(), "false"));
            try {
                ActorPoolSpec s = ActorPoolSpec.ofClass(name, cls).withCount(count).withGpus(gpus).withCpus(cpus)
                        .withEager(eager);
                String arts = o.getOrDefault(PoolOption.ARTIFACTS.suffix(), "");
                if (!arts.isEmpty()) {
                    for (String item : arts.split(",")) {
                        String t = item.trim();
                        int eq = t.indexOf('=');
                        if (eq <= 0) {
                            problems.add(PoolOption.ARTIFACTS.key(name) + ": entry '" + t + "' must be alias=URI,"
                                    + " e.g. model=hdfs://namenode:8020/models/m1");
                            continue;
                        }
                        s = s.withArtifact(t.substring(0, eq).trim(), t.substring(eq + 1).trim());
                    }
                }
                for (Map.Entry<String, String> e : o.entrySet()) {
                    if (e.getKey().startsWith("property.")) {
                        s = s.withProperty(e.getKey().substring("property.".length()), e.getValue());
                    }
                }
                return s;
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage() + " (spark.stoker.pool." + name + ".*)");
                return null;
            }
        }

        void throwIfInvalid() {
            if (!problems.isEmpty()) {
                throw new StokerConfException(problems);
            }
        }
    }
}
