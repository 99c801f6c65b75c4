package io.stoker.shell;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits SQL text into statements at the semicolons that end them, as spark-sql's command line does: a semicolon
 * inside a string ({@code '...'}, {@code "..."}, with backslash escapes), a quoted identifier ({@code `...`}), a line
 * comment ({@code -- ...}) or a (nested) block comment ({@code /* ... *}{@code /}) does not end a statement.
 * Statements holding only comments and blanks are dropped. Stateless.
 */
public final class SqlScript {
    /** One statement: its text (comments kept, outer blanks trimmed) and the 1-based line where its code starts. */
    public record Statement(String text, int line) {
    }

    private SqlScript() {
    }

    /** @return the statements of {@code text}, in order */
    public static List<Statement> split(String text) {
        List<Statement> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        int line = 1;
        int codeLine = -1; // line of the statement's first code character; -1 while it has none
        char quote = 0; // the open quote character, or 0 outside strings and quoted identifiers
        boolean lineComment = false;
        int blockDepth = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            char next = i + 1 < text.length() ? text.charAt(i + 1) : 0;
            if (lineComment) {
                current.append(c);
                if (c == '\n') {
                    lineComment = false;
                }
            } else if (blockDepth > 0) {
                current.append(c);
                if (c == '*' && next == '/') {
                    current.append(next);
                    i++;
                    blockDepth--;
                } else if (c == '/' && next == '*') {
                    current.append(next);
                    i++;
                    blockDepth++;
                }
            } else if (quote != 0) {
                current.append(c);
                if (c == '\\' && quote != '`' && next != 0) {
                    current.append(next);
                    i++;
                    if (next == '\n') {
                        line++;
                    }
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '-' && next == '-') {
                lineComment = true;
                current.append(c);
            } else if (c == '/' && next == '*') {
                blockDepth = 1;
                current.append(c).append(next);
                i++;
            } else if (c == ';') {
                add(out, current, codeLine);
                current.setLength(0);
                codeLine = -1;
            } else {
                if (c == '\'' || c == '"' || c == '`') {
                    quote = c;
                }
                if (!Character.isWhitespace(c) && codeLine < 0) {
                    codeLine = line;
                }
                current.append(c);
            }
            if (c == '\n') {
                line++;
            }
        }
        add(out, current, codeLine);
        return out;
    }

    private static void add(List<Statement> out, StringBuilder text, int codeLine) {
        if (codeLine > 0) {
            out.add(new Statement(text.toString().strip(), codeLine));
        }
    }
}
