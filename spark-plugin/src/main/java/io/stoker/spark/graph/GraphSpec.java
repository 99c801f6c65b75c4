package io.stoker.spark.graph;

import io.stoker.runtime.graph.FunctionN;
import io.stoker.spark.actor.ActorPoolSpec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A serializable description of a compiled graph: steps (actor-pool methods and functions) wired from the Arrow
 * batch input to one output. Built on the driver, shipped to executors, compiled there once per executor into one
 * graph replica per actor of its widest pool, and cached under {@link #key()}.
 *
 * <p>The input of the graph is the partition's Arrow batch ({@code org.apache.arrow.vector.VectorSchemaRoot}); the
 * output step must return a {@code VectorSchemaRoot} with the declared output schema (it may return its input batch
 * unchanged). Values between steps are any Java objects, passed by reference.
 *
 * <pre>{@code
 * GraphSpec spec = GraphSpec.builder("classify")
 *         .pool(ActorPoolSpec.ofClass("model", Classifier.class).withGpus(1))
 *         .actor("scores", "model", "score", GraphSpec.INPUT)
 *         .build();
 * }</pre>
 *
 * <p>Immutable.
 */
public final class GraphSpec implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_.-]+");

    /** The id that names the graph's input (the Arrow batch) in step inputs. */
    public static final String INPUT = "input";

    private final String name;
    private final List<StepSpec> steps;
    private final String output;
    private final Map<String, ActorPoolSpec> pools;
    private final String key;

    private GraphSpec(String name, List<StepSpec> steps, String output, Map<String, ActorPoolSpec> pools) {
        this.name = name;
        this.steps = List.copyOf(steps);
        this.output = output;
        this.pools = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(pools));
        this.key = name + "@" + fingerprint(this.steps, output, this.pools);
    }

    public static Builder builder(String name) {
        return new Builder(name);
    }

    /** A graph whose output is its input batch (through one function step): measures the operator's own cost. */
    public static GraphSpec identity() {
        return builder("identity").function("identity", GraphSpec::first, INPUT).build();
    }

    /** A one-step graph: {@code pool.method(batch)}. */
    public static GraphSpec of(String name, String pool, String method) {
        return builder(name).actor(method, pool, method, INPUT).build();
    }

    private static Object first(Object[] args) {
        return args[0];
    }

    public String name() {
        return name;
    }

    /** @return steps in declaration order (each step's inputs come before it) */
    public List<StepSpec> steps() {
        return steps;
    }

    /** @return the id of the step whose value is the graph's output */
    public String output() {
        return output;
    }

    /** @return pools declared in code with this graph, by name (configuration pools are not listed) */
    public Map<String, ActorPoolSpec> pools() {
        return pools;
    }

    /** @return pool names the steps use, in first-use order */
    public List<String> poolsUsed() {
        List<String> out = new ArrayList<>();
        for (StepSpec s : steps) {
            if (s.isActorStep() && !out.contains(s.pool())) {
                out.add(s.pool());
            }
        }
        return out;
    }

    /**
     * @return the cache key executors compile this spec under: its name and a digest of its content, so equal specs
     * built by separate jobs share one compiled graph
     */
    public String key() {
        return key;
    }

    private static String fingerprint(List<StepSpec> steps, String output, Map<String, ActorPoolSpec> pools) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(new ArrayList<>(steps));
                out.writeObject(output);
                out.writeObject(new LinkedHashMap<>(pools));
            }
            byte[] d = MessageDigest.getInstance("SHA-256").digest(bytes.toByteArray());
            return HexFormat.of().formatHex(Arrays.copyOf(d, 8));
        } catch (IOException e) {
            throw new IllegalArgumentException("graph spec is not serializable (a function, factory or captured"
                    + " value is not Serializable): " + e, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GraphSpec && ((GraphSpec) o).key.equals(key);
    }

    @Override
    public int hashCode() {
        return key.hashCode();
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("GraphSpec[").append(key).append(": ");
        for (StepSpec s : steps) {
            b.append(s.id()).append('=').append(s.isActorStep() ? s.pool() + "." + s.method() : "fn")
                    .append(s.inputs()).append(' ');
        }
        return b.append("-> ").append(output).append(']').toString();
    }

    /** Builds a {@link GraphSpec}; checks ids, wiring and pool references as steps are added. Not thread-safe. */
    public static final class Builder {
        private final String name;
        private final List<StepSpec> steps = new ArrayList<>();
        private final Map<String, ActorPoolSpec> pools = new LinkedHashMap<>();
        private String output;

        private Builder(String name) {
            if (name == null || !ID.matcher(name).matches()) {
                throw new IllegalArgumentException("graph name '" + name + "' is invalid; use letters, digits, '_',"
                        + " '.' and '-'");
            }
            this.name = name;
        }

        /** Declares an actor pool in code for this graph (executors create it at first use). */
        public Builder pool(ActorPoolSpec spec) {
            Objects.requireNonNull(spec, "spec");
            ActorPoolSpec old = pools.putIfAbsent(spec.name(), spec);
            if (old != null && !old.equals(spec)) {
                throw new IllegalArgumentException("graph '" + name + "' declares pool '" + spec.name()
                        + "' twice with different settings: " + old + " vs " + spec);
            }
            return this;
        }

        /** Adds a step calling {@code method} on the pool's actor with the values of {@code inputs}. */
        public Builder actor(String id, String pool, String method, String... inputs) {
            Objects.requireNonNull(pool, "pool");
            if (method == null || method.isBlank()) {
                throw new IllegalArgumentException("graph '" + name + "' step '" + id + "': method must not be blank");
            }
            return add(new StepSpec(id, pool, method, null, Arrays.asList(inputs)));
        }

        /** Adds a function step (runs on the actor of its first upstream step, or Stoker's function actor). */
        public Builder function(String id, FunctionN<?> fn, String... inputs) {
            Objects.requireNonNull(fn, "function");
            return add(new StepSpec(id, null, null, fn, Arrays.asList(inputs)));
        }

        private Builder add(StepSpec s) {
            if (s.id() == null || !ID.matcher(s.id()).matches() || s.id().equals(INPUT)) {
                throw new IllegalArgumentException("graph '" + name + "': step id '" + s.id() + "' is invalid; use"
                        + " letters, digits, '_', '.' and '-', and not '" + INPUT + "'");
            }
            if (s.inputs().isEmpty()) {
                throw new IllegalArgumentException("graph '" + name + "' step " + s.describe() + " has no inputs;"
                        + " name GraphSpec.INPUT or earlier steps");
            }
            for (StepSpec t : steps) {
                if (t.id().equals(s.id())) {
                    throw new IllegalArgumentException("graph '" + name + "': step id '" + s.id() + "' is used twice");
                }
            }
            for (String in : s.inputs()) {
                if (!in.equals(INPUT) && steps.stream().noneMatch(t -> t.id().equals(in))) {
                    throw new IllegalArgumentException("graph '" + name + "' step " + s.describe() + " reads '" + in
                            + "', which is neither GraphSpec.INPUT nor an earlier step");
                }
            }
            steps.add(s);
            return this;
        }

        /** Sets the output step (default: the last step). */
        public Builder output(String stepId) {
            this.output = stepId;
            return this;
        }

        public GraphSpec build() {
            if (steps.isEmpty()) {
                throw new IllegalArgumentException("graph '" + name + "' has no steps");
            }
            String out = output != null ? output : steps.get(steps.size() - 1).id();
            if (steps.stream().noneMatch(s -> s.id().equals(out))) {
                throw new IllegalArgumentException("graph '" + name + "': output step '" + out + "' does not exist");
            }
            return new GraphSpec(name, steps, out, pools);
        }
    }
}
