package io.stoker.runtime.graph;

/**
 * What every actor of a compiled graph checks before each task: whether the graph stopped (closed or failed), and
 * whether any execution was ever cancelled (only then is the result slot's cancel mark worth reading). Both change
 * rarely; they live apart from {@link CompiledGraph}'s other fields, which the submitting thread writes on every
 * submit, padded to cache lines of their own ({@link io.stoker.runtime.internal.CacheLines}), so the actors' reads
 * stay cache hits.
 */
final class GraphSignals extends GraphSignalsFields {
    @SuppressWarnings("unused")
    long q00, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11, q12, q13, q14, q15;

    boolean stopped() {
        return stopped;
    }

    void stop() {
        stopped = true;
    }

    boolean anyCancelled() {
        return anyCancelled;
    }

    void cancelled() {
        anyCancelled = true;
    }
}

/** Padding before {@link GraphSignalsFields}. */
abstract class GraphSignalsPad {
    @SuppressWarnings("unused")
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
}

/** The fields of {@link GraphSignals}, between two pads. */
abstract class GraphSignalsFields extends GraphSignalsPad {
    volatile boolean stopped;
    volatile boolean anyCancelled;
}
