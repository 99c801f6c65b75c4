package io.stoker.spark.actor;

import java.io.Serializable;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A pool of identical actors that every executor hosts: what to construct (a class name or a serializable factory),
 * how many per executor, what each needs (GPUs, CPU slots, artifacts), and when to construct them. Declared in
 * configuration ({@code spark.stoker.pool.<name>.*}) or in code (carried by a {@code GraphSpec}).
 *
 * <p>Immutable and serializable; the {@code with*} methods return copies.
 */
public final class ActorPoolSpec implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]+");

    /** {@link #count()} value meaning "one actor per GPU group, 1 without GPUs". */
    public static final int AUTO = 0;

    private final String name;
    private final String className;
    private final StokerActorFactory<?> factory;
    private final int count;
    private final int gpus;
    private final double cpus;
    private final boolean eager;
    private final Map<String, String> artifacts;
    private final Map<String, String> properties;

    private ActorPoolSpec(String name, String className, StokerActorFactory<?> factory, int count, int gpus,
                          double cpus, boolean eager, Map<String, String> artifacts, Map<String, String> properties) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("actor pool name '" + name + "' is invalid; use letters, digits, '_'"
                    + " and '-'");
        }
        if ((className == null) == (factory == null)) {
            throw new IllegalArgumentException("actor pool '" + name + "' needs exactly one of a class name or a"
                    + " factory");
        }
        if (count < 0) {
            throw new IllegalArgumentException("actor pool '" + name + "': count=" + count + " must be >= 1 (or auto)");
        }
        if (gpus < 0) {
            throw new IllegalArgumentException("actor pool '" + name + "': gpus=" + gpus + " must be >= 0");
        }
        if (!(cpus >= 0) || Double.isInfinite(cpus)) {
            throw new IllegalArgumentException("actor pool '" + name + "': cpus=" + cpus + " must be a finite"
                    + " number >= 0");
        }
        for (Map.Entry<String, String> a : artifacts.entrySet()) {
            checkArtifact(name, a.getKey(), a.getValue());
        }
        this.name = name;
        this.className = className;
        this.factory = factory;
        this.count = count;
        this.gpus = gpus;
        this.cpus = cpus;
        this.eager = eager;
        this.artifacts = Collections.unmodifiableMap(new LinkedHashMap<>(artifacts));
        this.properties = Collections.unmodifiableMap(new TreeMap<>(properties));
    }

    /** A pool of {@code className}, constructed through its public (ActorEnv | ActorContext | no-arg) constructor. */
    public static ActorPoolSpec ofClass(String name, String className) {
        Objects.requireNonNull(className, "className");
        return new ActorPoolSpec(name, className, null, AUTO, 0, 0, false, Map.of(), Map.of());
    }

    /** A pool of {@code type}; see {@link #ofClass(String, String)}. */
    public static ActorPoolSpec ofClass(String name, Class<?> type) {
        return ofClass(name, type.getName());
    }

    /** A pool whose actors a serializable factory builds. */
    public static ActorPoolSpec ofFactory(String name, StokerActorFactory<?> factory) {
        Objects.requireNonNull(factory, "factory");
        return new ActorPoolSpec(name, null, factory, AUTO, 0, 0, false, Map.of(), Map.of());
    }

    /** @param n actors per executor, >= 1; or {@link #AUTO} */
    public ActorPoolSpec withCount(int n) {
        if (n < 1 && n != AUTO) {
            throw new IllegalArgumentException("actor pool '" + name + "': count=" + n + " must be >= 1 (or AUTO)");
        }
        return new ActorPoolSpec(name, className, factory, n, gpus, cpus, eager, artifacts, properties);
    }

    /** @param n GPUs pinned to each actor when the executor has GPUs */
    public ActorPoolSpec withGpus(int n) {
        return new ActorPoolSpec(name, className, factory, count, n, cpus, eager, artifacts, properties);
    }

    public ActorPoolSpec withCpus(double c) {
        return new ActorPoolSpec(name, className, factory, count, gpus, c, eager, artifacts, properties);
    }

    /** @param e true: construct at executor start (pools from configuration only); false: at first use */
    public ActorPoolSpec withEager(boolean e) {
        return new ActorPoolSpec(name, className, factory, count, gpus, cpus, e, artifacts, properties);
    }

    /** Declares a file or directory the actors need, fetched once per executor; {@link ActorEnv#artifact} finds it. */
    public ActorPoolSpec withArtifact(String alias, String uri) {
        Map<String, String> a = new LinkedHashMap<>(artifacts);
        a.put(alias, uri);
        return new ActorPoolSpec(name, className, factory, count, gpus, cpus, eager, a, properties);
    }

    public ActorPoolSpec withProperty(String key, String value) {
        Map<String, String> p = new TreeMap<>(properties);
        p.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return new ActorPoolSpec(name, className, factory, count, gpus, cpus, eager, artifacts, p);
    }

    private static void checkArtifact(String pool, String alias, String uri) {
        if (alias == null || !NAME.matcher(alias).matches()) {
            throw new IllegalArgumentException("actor pool '" + pool + "': artifact alias '" + alias + "' is invalid;"
                    + " use letters, digits, '_' and '-'");
        }
        try {
            URI u = new URI(uri);
            if (u.getScheme() == null || u.getPath() == null || u.getPath().isEmpty()) {
                throw new IllegalArgumentException("actor pool '" + pool + "': artifact '" + alias + "'=" + uri
                        + " is not an absolute URI with a scheme and a path, e.g. hdfs://namenode:8020/models/m1 or"
                        + " file:///opt/models/m1");
            }
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("actor pool '" + pool + "': artifact '" + alias + "'=" + uri
                    + " is not a valid URI: " + e.getMessage(), e);
        }
    }

    public String name() {
        return name;
    }

    /** @return the actor class name, or null for a factory pool */
    public String className() {
        return className;
    }

    /** @return the factory, or null for a class pool */
    public StokerActorFactory<?> factory() {
        return factory;
    }

    /** @return actors per executor, or {@link #AUTO} */
    public int count() {
        return count;
    }

    public int gpus() {
        return gpus;
    }

    public double cpus() {
        return cpus;
    }

    public boolean eager() {
        return eager;
    }

    /** @return alias to URI, in declaration order */
    public Map<String, String> artifacts() {
        return artifacts;
    }

    public Map<String, String> properties() {
        return properties;
    }

    /**
     * @param executorGpus GPU addresses the executor has
     * @return how many actors this pool has on such an executor
     */
    public int actorsFor(int executorGpus) {
        if (count != AUTO) {
            return count;
        }
        if (gpus > 0 && executorGpus > 0) {
            return Math.max(1, executorGpus / gpus);
        }
        return 1;
    }

    /** @return a description of what is constructed, for messages */
    public String target() {
        return className != null ? className : "factory " + factory.getClass().getName();
    }

    /** Equal when every setting matches; factories compare by class (a deserialized copy is another instance). */
    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ActorPoolSpec)) {
            return false;
        }
        ActorPoolSpec s = (ActorPoolSpec) o;
        return name.equals(s.name) && Objects.equals(className, s.className)
                && Objects.equals(factory == null ? null : factory.getClass(), s.factory == null ? null
                : s.factory.getClass())
                && count == s.count && gpus == s.gpus && Double.compare(cpus, s.cpus) == 0 && eager == s.eager
                && artifacts.equals(s.artifacts) && properties.equals(s.properties);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, className, count, gpus, cpus, eager, artifacts, properties);
    }

    @Override
    public String toString() {
        return "ActorPoolSpec[" + name + ", " + target() + ", count=" + (count == AUTO ? "auto" : count) + ", gpus="
                + gpus + ", cpus=" + cpus + (eager ? ", eager" : "") + (artifacts.isEmpty() ? "" : ", artifacts="
                + artifacts.keySet()) + "]";
    }
}
