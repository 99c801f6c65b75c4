package io.stoker.runtime.actor;

import java.io.Serializable;
import java.lang.invoke.SerializedLambda;
import java.lang.reflect.Method;

/** Recovers a readable method name from a serializable method reference or lambda. Used at graph build time only. */
public final class MethodNames {
    private MethodNames() {
    }

    /**
     * @return the implementation method's name for a method reference ({@code "forward"} for
     * {@code Model::forward}), or {@code fallback} for a lambda or anything that cannot be inspected
     */
    public static String of(Serializable fn, String fallback) {
        try {
            Method m = fn.getClass().getDeclaredMethod("writeReplace");
            m.setAccessible(true);
            Object replaced = m.invoke(fn);
            if (replaced instanceof SerializedLambda) {
                String name = ((SerializedLambda) replaced).getImplMethodName();
                return name.startsWith("lambda$") ? fallback : name;
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            // not a serializable lambda (e.g. a hand-written class): fall through
        }
        return fallback;
    }
}
