package io.stoker.runtime.graph;

/** Stands for {@code null} inside channels, which hold only non-null references. */
final class NullValue {
    static final NullValue INSTANCE = new NullValue();

    private NullValue() {
    }

    static Object wrap(Object v) {
        return v == null ? INSTANCE : v;
    }

    static Object unwrap(Object v) {
        return v == INSTANCE ? null : v;
    }

    @Override
    public String toString() {
        return "null";
    }
}
