package io.stoker.spark.batch;

import java.util.List;

/** The input has custom_ids on more than one line; the message lists them with their line numbers. */
public final class DuplicateCustomIdException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final List<DuplicateCheck.Duplicate> duplicates;

    DuplicateCustomIdException(String message, List<DuplicateCheck.Duplicate> duplicates) {
        super(message);
        this.duplicates = List.copyOf(duplicates);
    }

    /** @return the first duplicates found (at most {@link DuplicateCheck#REPORTED}), by first line */
    public List<DuplicateCheck.Duplicate> duplicates() {
        return duplicates;
    }
}
