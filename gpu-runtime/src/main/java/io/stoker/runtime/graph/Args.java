package io.stoker.runtime.graph;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A graph input made of positional and named values, read by {@link InputNode#arg} and {@link InputNode#field}.
 * Immutable.
 */
public final class Args {
    private final Object[] positional;
    private final Map<String, Object> named;

    private Args(Object[] positional, Map<String, Object> named) {
        this.positional = positional;
        this.named = named;
    }

    /** Positional values, in order. */
    public static Args of(Object... positional) {
        return new Args(positional.clone(), Map.of());
    }

    /** @return a copy with one more named value */
    public Args with(String name, Object value) {
        Objects.requireNonNull(name, "name");
        Map<String, Object> m = new HashMap<>(named);
        m.put(name, value);
        return new Args(positional, Map.copyOf(m));
    }

    public int size() {
        return positional.length;
    }

    /** @throws IndexOutOfBoundsException naming the index and how many values there are */
    public Object get(int index) {
        if (index < 0 || index >= positional.length) {
            throw new IndexOutOfBoundsException("arg(" + index + ") is missing: the input has " + positional.length
                    + " positional value(s)");
        }
        return positional[index];
    }

    /** @throws IllegalArgumentException naming the field and the fields present */
    public Object get(String name) {
        if (!named.containsKey(name)) {
            throw new IllegalArgumentException("field '" + name + "' is missing: the input has fields "
                    + named.keySet());
        }
        return named.get(name);
    }

    public boolean has(String name) {
        return named.containsKey(name);
    }

    @Override
    public String toString() {
        return "Args" + Arrays.toString(positional) + (named.isEmpty() ? "" : named);
    }
}
