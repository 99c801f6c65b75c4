package io.stoker.runtime.comm;

import java.lang.reflect.Array;

/** Element-wise reductions, concatenation and slicing over the primitive arrays communicators accept. */
final class ArrayMath {
    private ArrayMath() {
    }

    static String describe(Object buffer) {
        if (buffer == null) {
            return "null";
        }
        if (buffer instanceof Throwable) {
            return "failure " + buffer;
        }
        if (!buffer.getClass().isArray()) {
            return buffer.getClass().getSimpleName();
        }
        return buffer.getClass().getComponentType().getName() + "[" + Array.getLength(buffer) + "]";
    }

    static boolean isSupported(Object buffer) {
        return buffer instanceof float[] || buffer instanceof double[] || buffer instanceof int[]
                || buffer instanceof long[];
    }

    static void checkSupported(Object buffer, String where) {
        if (!isSupported(buffer)) {
            throw new CollectiveException(where + ": buffer is " + describe(buffer)
                    + "; collectives take float[], double[], int[] or long[]");
        }
    }

    static int length(Object buffer) {
        return Array.getLength(buffer);
    }

    /** @return a new array holding the element-wise reduction of {@code parts} (all of one type and length) */
    static Object reduce(ReduceOp op, Object[] parts) {
        Object first = parts[0];
        if (first instanceof float[]) {
            float[] out = ((float[]) first).clone();
            for (int p = 1; p < parts.length; p++) {
                float[] x = (float[]) parts[p];
                for (int i = 0; i < out.length; i++) {
                    out[i] = reduceF(op, out[i], x[i]);
                }
            }
            return out;
        }
        if (first instanceof double[]) {
            double[] out = ((double[]) first).clone();
            for (int p = 1; p < parts.length; p++) {
                double[] x = (double[]) parts[p];
                for (int i = 0; i < out.length; i++) {
                    out[i] = reduceD(op, out[i], x[i]);
                }
            }
            return out;
        }
        if (first instanceof int[]) {
            int[] out = ((int[]) first).clone();
            for (int p = 1; p < parts.length; p++) {
                int[] x = (int[]) parts[p];
                for (int i = 0; i < out.length; i++) {
                    out[i] = (int) reduceL(op, out[i], x[i]);
                }
            }
            return out;
        }
        long[] out = ((long[]) first).clone();
        for (int p = 1; p < parts.length; p++) {
            long[] x = (long[]) parts[p];
            for (int i = 0; i < out.length; i++) {
                out[i] = reduceL(op, out[i], x[i]);
            }
        }
        return out;
    }

    private static float reduceF(ReduceOp op, float a, float b) {
        switch (op) {
            case SUM: return a + b;
            case PROD: return a * b;
            case MIN: return Math.min(a, b);
            default: return Math.max(a, b);
        }
    }

    private static double reduceD(ReduceOp op, double a, double b) {
        switch (op) {
            case SUM: return a + b;
            case PROD: return a * b;
            case MIN: return Math.min(a, b);
            default: return Math.max(a, b);
        }
    }

    private static long reduceL(ReduceOp op, long a, long b) {
        switch (op) {
            case SUM: return a + b;
            case PROD: return a * b;
            case MIN: return Math.min(a, b);
            default: return Math.max(a, b);
        }
    }

    /** @return a new array of all parts concatenated in order */
    static Object concat(Object[] parts) {
        int len = Array.getLength(parts[0]);
        Object out = Array.newInstance(parts[0].getClass().getComponentType(), len * parts.length);
        for (int p = 0; p < parts.length; p++) {
            System.arraycopy(parts[p], 0, out, p * len, len);
        }
        return out;
    }

    /** @return a new array holding {@code length} elements of {@code src} from {@code offset} */
    static Object slice(Object src, int offset, int length) {
        Object out = Array.newInstance(src.getClass().getComponentType(), length);
        System.arraycopy(src, offset, out, 0, length);
        return out;
    }

    static Object copy(Object src) {
        return slice(src, 0, Array.getLength(src));
    }
}
