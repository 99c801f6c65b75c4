package io.stoker.runtime.internal;

/**
 * How the runtime keeps per-thread hot fields off other threads' cache lines. Java has no public {@code @Contended},
 * so hot fields sit in a class between two classes of {@value #PAD_LONGS} unused {@code long}s each (superclass
 * fields are laid out before subclass fields): 128 bytes either side, which also covers CPUs that fetch cache
 * lines in adjacent pairs. Used where objects that different threads write every execution are allocated next to each
 * other (one per actor, created in one loop at compile time); without it two actors' counters can share a line and
 * every write invalidates the other actor's copy.
 */
public final class CacheLines {
    /** Unused longs on each side of a padded group of fields. */
    public static final int PAD_LONGS = 16;

    private CacheLines() {
    }
}
