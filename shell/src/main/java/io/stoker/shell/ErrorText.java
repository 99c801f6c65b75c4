package io.stoker.shell;

import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.catalyst.parser.ParseException;

/**
 * Short error messages for the command line: what went wrong without a stack trace. Spark's job failures carry the
 * task's exception (and its stack trace) inside their message; only the first line of each message in the cause
 * chain is kept, and the root cause is named when the top message does not already say it. Stateless.
 */
public final class ErrorText {
    private ErrorText() {
    }

    /** @return one to a few lines saying what {@code t} is about, never a stack trace */
    public static String brief(Throwable t) {
        if (t instanceof ParseException) {
            return t.getMessage().strip(); // the statement with a marker under the bad token
        }
        if (t instanceof AnalysisException a) {
            return a.getSimpleMessage().strip(); // without the plan
        }
        String top = describe(t);
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root != t) {
            String rootText = firstLine(root.getMessage());
            if (rootText.isEmpty() || !top.contains(rootText)) {
                return top + "\ncaused by: " + describe(root);
            }
        }
        return top;
    }

    private static String describe(Throwable t) {
        String message = firstLine(t.getMessage());
        return message.isEmpty() ? t.getClass().getName() : t.getClass().getSimpleName() + ": " + message;
    }

    /** @return the first line of {@code text} (empty for null) */
    public static String firstLine(String text) {
        if (text == null) {
            return "";
        }
        String s = text.strip();
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl).strip();
    }
}
