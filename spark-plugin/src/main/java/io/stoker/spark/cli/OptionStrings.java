package io.stoker.spark.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a JVM option string such as {@code spark.driver.extraJavaOptions} into arguments the way Spark's launcher
 * does: whitespace separates arguments; single quotes keep everything literally; inside double quotes and outside
 * quotes a backslash escapes the next character. Stateless.
 */
final class OptionStrings {
    private OptionStrings() {
    }

    /**
     * @throws IllegalArgumentException naming the string when a quote is left open or it ends with a lone backslash
     */
    static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        if (s == null) {
            return out;
        }
        StringBuilder arg = new StringBuilder();
        boolean inArg = false;
        boolean inSingle = false;
        boolean inDouble = false;
        boolean escaped = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (escaped) {
                arg.append(c);
                escaped = false;
                inArg = true;
            } else if (inSingle) {
                if (c == '\'') {
                    inSingle = false;
                } else {
                    arg.append(c);
                }
            } else if (c == '\\') {
                escaped = true;
            } else if (inDouble) {
                if (c == '"') {
                    inDouble = false;
                } else {
                    arg.append(c);
                }
            } else if (c == '\'') {
                inSingle = true;
                inArg = true;
            } else if (c == '"') {
                inDouble = true;
                inArg = true;
            } else if (Character.isWhitespace(c)) {
                if (inArg) {
                    out.add(arg.toString());
                    arg.setLength(0);
                    inArg = false;
                }
            } else {
                arg.append(c);
                inArg = true;
            }
        }
        if (inSingle || inDouble || escaped) {
            throw new IllegalArgumentException("invalid option string (unbalanced quotes or a trailing backslash): "
                    + s);
        }
        if (inArg) {
            out.add(arg.toString());
        }
        return out;
    }
}
