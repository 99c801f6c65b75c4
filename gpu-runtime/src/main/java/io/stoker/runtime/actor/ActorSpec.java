package io.stoker.runtime.actor;

import io.stoker.runtime.channel.IdleKind;

import java.lang.reflect.Constructor;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * How to create an actor: a name, a factory, resource needs, and optional settings. Immutable; the
 * {@code with*} methods return copies.
 *
 * @param <A> actor class
 */
public final class ActorSpec<A> {
    private final String name;
    private final ActorFactory<A> factory;
    private final Resources resources;
    private final IdleKind idle;
    private final Map<String, String> properties;

    private ActorSpec(String name, ActorFactory<A> factory, Resources resources, IdleKind idle,
                      Map<String, String> properties) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("actor name must not be blank");
        }
        this.name = name;
        this.factory = Objects.requireNonNull(factory, "factory");
        this.resources = Objects.requireNonNull(resources, "resources");
        this.idle = idle;
        this.properties = Map.copyOf(properties);
    }

    /** An actor built by a factory that receives its {@link ActorContext}. */
    public static <A> ActorSpec<A> of(String name, ActorFactory<A> factory) {
        return new ActorSpec<>(name, factory, Resources.NONE, null, Map.of());
    }

    /** An actor built by a no-argument supplier. */
    public static <A> ActorSpec<A> ofSupplier(String name, Supplier<A> supplier) {
        Objects.requireNonNull(supplier, "supplier");
        return of(name, ctx -> supplier.get());
    }

    /**
     * An actor of a class with a public constructor taking either an {@link ActorContext} or nothing (preferred in
     * that order).
     */
    public static <A> ActorSpec<A> ofClass(String name, Class<A> type) {
        Objects.requireNonNull(type, "type");
        return of(name, ctx -> {
            try {
                Constructor<A> withContext = type.getConstructor(ActorContext.class);
                return withContext.newInstance(ctx);
            } catch (NoSuchMethodException e) {
                try {
                    return type.getConstructor().newInstance();
                } catch (NoSuchMethodException e2) {
                    throw new IllegalArgumentException("actor class " + type.getName()
                            + " needs a public constructor taking ActorContext or no arguments", e2);
                }
            } catch (java.lang.reflect.InvocationTargetException e) {
                Throwable cause = e.getCause();
                if (cause instanceof Exception) {
                    throw (Exception) cause;
                }
                throw e;
            }
        });
    }

    public ActorSpec<A> withResources(Resources r) {
        return new ActorSpec<>(name, factory, r, idle, properties);
    }

    public ActorSpec<A> withCpus(double cpus) {
        return withResources(new Resources(cpus, resources.gpus()));
    }

    public ActorSpec<A> withGpus(int gpus) {
        return withResources(new Resources(resources.cpus(), gpus));
    }

    /** Overrides the runtime's idle strategy for this actor's thread. */
    public ActorSpec<A> withIdle(IdleKind kind) {
        return new ActorSpec<>(name, factory, resources, kind, properties);
    }

    public ActorSpec<A> withProperty(String key, String value) {
        Map<String, String> p = new HashMap<>(properties);
        p.put(key, value);
        return new ActorSpec<>(name, factory, resources, idle, p);
    }

    public String name() {
        return name;
    }

    public ActorFactory<A> factory() {
        return factory;
    }

    public Resources resources() {
        return resources;
    }

    /** @return the idle override, or null to use the runtime's */
    public IdleKind idle() {
        return idle;
    }

    public Map<String, String> properties() {
        return properties;
    }

    @Override
    public String toString() {
        return "ActorSpec[" + name + ", " + resources + "]";
    }
}
