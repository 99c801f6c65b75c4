package io.stoker.spark.config;

import java.util.List;

/** Invalid Stoker configuration: every problem found, each naming its key, the value and what is allowed. */
public final class StokerConfException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    public StokerConfException(List<String> problems) {
        super("invalid Stoker configuration (" + problems.size() + " problem" + (problems.size() == 1 ? "" : "s")
                + "): " + String.join("; ", problems));
        this.problems = List.copyOf(problems);
    }

    /** @return one message per invalid key */
    public List<String> problems() {
        return problems;
    }
}
