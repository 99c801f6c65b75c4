package io.stoker.runtime.graph;

import java.util.Arrays;

/** Short, readable renderings of constant arguments for labels, DOT output and errors. */
final class ConstantLabels {
    private static final int MAX = 40;

    private ConstantLabels() {
    }

    static String describe(Object v) {
        String s;
        if (v == null) {
            s = "null";
        } else if (v instanceof String) {
            s = "\"" + v + "\"";
        } else if (v instanceof Object[]) {
            s = Arrays.deepToString((Object[]) v);
        } else if (v instanceof int[]) {
            s = Arrays.toString((int[]) v);
        } else if (v instanceof long[]) {
            s = Arrays.toString((long[]) v);
        } else if (v instanceof float[]) {
            s = Arrays.toString((float[]) v);
        } else if (v instanceof double[]) {
            s = Arrays.toString((double[]) v);
        } else {
            s = String.valueOf(v);
        }
        return s.length() <= MAX ? s : s.substring(0, MAX - 3) + "...";
    }
}
