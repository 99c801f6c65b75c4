package io.stoker.shell;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A Scala notebook in Databricks source format, split into cells. The format: the first line is
 * {@code // Databricks notebook source}; cells are separated by {@code // COMMAND ----------} lines; a cell may start
 * with {@code // DBTITLE 1,<title>}; a cell whose lines all start with {@code // MAGIC} is a magic cell whose first
 * word says its kind ({@code %sql}, {@code %md}, {@code %scala}, {@code %python}...). Every other cell is Scala.
 * Immutable.
 *
 * @param name  where the notebook came from, for messages
 * @param cells the non-empty cells in order
 */
public record DatabricksNotebook(String name, List<Cell> cells) {
    public static final String HEADER = "// Databricks notebook source";
    static final String SEPARATOR = "// COMMAND ----------";
    static final String MAGIC = "// MAGIC";
    static final String TITLE = "// DBTITLE ";

    public DatabricksNotebook {
        cells = List.copyOf(cells);
    }

    /** What a cell holds. */
    public enum Kind {
        SCALA, SQL, MARKDOWN,
        /** a magic this runner does not run ({@code %python}, {@code %sh}, {@code %run}...) */
        OTHER
    }

    /**
     * One cell.
     *
     * @param number 1-based position among the notebook's non-empty cells
     * @param kind   what it holds
     * @param magic  the magic word ({@code %sql}) or empty for a plain Scala cell
     * @param title  the DBTITLE, or empty
     * @param source the code, without {@code // MAGIC} prefixes and the magic word
     * @param line   the notebook line where the cell's content starts (1-based)
     */
    public record Cell(int number, Kind kind, String magic, String title, String source, int line) {
        /** @return e.g. {@code cell 3 (sql, "Ask with SQL", line 40)} */
        public String describe() {
            String what = magic.isEmpty() ? "scala" : magic.substring(1);
            return "cell " + number + " (" + what + (title.isEmpty() ? "" : ", \"" + title + "\"") + ", line " + line
                    + ")";
        }
    }

    /**
     * @param name where the text came from, for messages
     * @throws IllegalArgumentException when the first line is not the Databricks header
     */
    public static DatabricksNotebook parse(String name, String text) {
        String[] lines = text.split("\r?\n", -1);
        if (lines.length == 0 || !lines[0].strip().equals(HEADER)) {
            throw new IllegalArgumentException(name + " is not a notebook in Databricks source format: its first line"
                    + " must be '" + HEADER + "'");
        }
        List<Cell> cells = new ArrayList<>();
        List<String> current = new ArrayList<>();
        int start = 2;
        for (int i = 1; i <= lines.length; i++) {
            boolean end = i == lines.length || lines[i].strip().equals(SEPARATOR);
            if (!end) {
                current.add(lines[i]);
                continue;
            }
            Cell cell = cell(cells.size() + 1, current, start);
            if (cell != null) {
                cells.add(cell);
            }
            current.clear();
            start = i + 2;
        }
        return new DatabricksNotebook(name, cells);
    }

    private static Cell cell(int number, List<String> raw, int firstLine) {
        List<String> lines = new ArrayList<>(raw);
        int line = firstLine;
        while (!lines.isEmpty() && lines.get(0).isBlank()) {
            lines.remove(0);
            line++;
        }
        String title = "";
        if (!lines.isEmpty() && lines.get(0).startsWith(TITLE)) {
            String t = lines.remove(0).substring(TITLE.length());
            int comma = t.indexOf(',');
            title = (comma >= 0 ? t.substring(comma + 1) : t).strip();
            line++;
        }
        while (!lines.isEmpty() && lines.get(lines.size() - 1).isBlank()) {
            lines.remove(lines.size() - 1);
        }
        if (lines.isEmpty()) {
            return null;
        }
        boolean magic = lines.stream().allMatch(l -> l.startsWith(MAGIC));
        if (!magic) {
            return new Cell(number, Kind.SCALA, "", title, String.join("\n", lines), line);
        }
        List<String> body = new ArrayList<>();
        for (String l : lines) {
            String s = l.substring(MAGIC.length());
            body.add(s.startsWith(" ") ? s.substring(1) : s);
        }
        String first = body.get(0).strip();
        int space = first.indexOf(' ');
        String word = (space < 0 ? first : first.substring(0, space)).toLowerCase(Locale.ROOT);
        if (!word.startsWith("%")) {
            return new Cell(number, Kind.OTHER, "%?", title, String.join("\n", body), line);
        }
        body.set(0, space < 0 ? "" : first.substring(space + 1));
        String source = String.join("\n", body).strip();
        Kind kind = switch (word) {
            case "%sql" -> Kind.SQL;
            case "%md" -> Kind.MARKDOWN;
            case "%scala" -> Kind.SCALA;
            default -> Kind.OTHER;
        };
        return new Cell(number, kind, word, title, source, line);
    }
}
