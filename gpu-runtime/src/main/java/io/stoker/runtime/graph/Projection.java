package io.stoker.runtime.graph;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads one part of a value: a positional argument, a named field, or one of several values a method returned.
 * Applied by the consumer when it reads its input, so projections cost no extra task or channel.
 */
abstract class Projection {
    abstract Object apply(Object value);

    abstract String describe();

    /** Applies {@code inner} then {@code this}. */
    Projection after(Projection inner) {
        Projection outer = this;
        return new Projection() {
            @Override
            Object apply(Object value) {
                return outer.apply(inner.apply(value));
            }

            @Override
            String describe() {
                return inner.describe() + "." + outer.describe();
            }
        };
    }

    static Projection index(int index) {
        if (index < 0) {
            throw new IllegalArgumentException("index " + index + " must be >= 0");
        }
        return new Projection() {
            @Override
            Object apply(Object v) {
                if (v instanceof Args) {
                    return ((Args) v).get(index);
                }
                if (v instanceof Object[]) {
                    Object[] a = (Object[]) v;
                    check(a.length);
                    return a[index];
                }
                if (v instanceof List) {
                    List<?> l = (List<?>) v;
                    check(l.size());
                    return l.get(index);
                }
                throw new IllegalArgumentException("[" + index + "] needs Args, Object[] or List but the value is "
                        + (v == null ? "null" : v.getClass().getName()));
            }

            private void check(int size) {
                if (index >= size) {
                    throw new IndexOutOfBoundsException("[" + index + "] is missing: the value has " + size
                            + " element(s)");
                }
            }

            @Override
            String describe() {
                return "[" + index + "]";
            }
        };
    }

    private static final Map<Class<?>, Map<String, MethodHandle>> RECORD_ACCESSORS = new ConcurrentHashMap<>();

    static Projection field(String name) {
        return new Projection() {
            @Override
            Object apply(Object v) {
                if (v instanceof Args) {
                    return ((Args) v).get(name);
                }
                if (v instanceof Map) {
                    Map<?, ?> m = (Map<?, ?>) v;
                    if (!m.containsKey(name)) {
                        throw new IllegalArgumentException("field '" + name + "' is missing: the map has keys "
                                + m.keySet());
                    }
                    return m.get(name);
                }
                if (v != null && v.getClass().isRecord()) {
                    MethodHandle h = RECORD_ACCESSORS.computeIfAbsent(v.getClass(), Projection::accessors).get(name);
                    if (h == null) {
                        throw new IllegalArgumentException("field '" + name + "' is missing: record "
                                + v.getClass().getSimpleName() + " has components "
                                + RECORD_ACCESSORS.get(v.getClass()).keySet());
                    }
                    try {
                        return h.invoke(v);
                    } catch (Throwable t) {
                        throw new IllegalStateException("reading field '" + name + "' failed", t);
                    }
                }
                throw new IllegalArgumentException("field '" + name + "' needs Args, a Map or a record but the value is "
                        + (v == null ? "null" : v.getClass().getName()));
            }

            @Override
            String describe() {
                return name;
            }
        };
    }

    private static Map<String, MethodHandle> accessors(Class<?> recordClass) {
        Map<String, MethodHandle> m = new ConcurrentHashMap<>();
        for (RecordComponent c : recordClass.getRecordComponents()) {
            try {
                c.getAccessor().setAccessible(true);
                m.put(c.getName(), MethodHandles.lookup().unreflect(c.getAccessor()));
            } catch (ReflectiveOperationException | RuntimeException e) {
                // an inaccessible component is reported as missing
            }
        }
        return m;
    }
}
