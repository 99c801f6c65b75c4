package io.stoker.spark.batch;

import java.util.List;

/** The input has custom_ids on more than one line; the message lists them with their line numbers. */
public final class DuplicateCustomIdException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /**
     * A custom_id on several lines.
     *
     * @param files its first places, ordered by (file, line): the files (at most {@link DuplicateCheck#LINES_PER_ID})
     * @param lines the line numbers of those places
     * @param count on how many lines it is
     */
    public record Duplicate(String customId, String[] files, long[] lines, long count) implements java.io.Serializable {
        @Override
        public String toString() {
            StringBuilder s = new StringBuilder("'" + customId + "' is on ");
            boolean oneFile = java.util.Arrays.stream(files).distinct().count() == 1;
            s.append(oneFile ? "lines " : "");
            for (int i = 0; i < lines.length; i++) {
                s.append(i > 0 ? ", " : "").append(oneFile ? "" : "line ").append(lines[i]);
                if (!oneFile) {
                    s.append(" of ").append(files[i]);
                }
            }
            if (count > lines.length) {
                s.append(" and ").append(count - lines.length).append(" more");
            }
            return oneFile ? s.append(" of ").append(files[0]).toString() : s.toString();
        }
    }

    private final List<Duplicate> duplicates;

    DuplicateCustomIdException(String message, List<Duplicate> duplicates) {
        super(message);
        this.duplicates = List.copyOf(duplicates);
    }

    /** @return the first duplicates found (at most {@link DuplicateCheck#REPORTED}), by first line */
    public List<Duplicate> duplicates() {
        return duplicates;
    }
}
