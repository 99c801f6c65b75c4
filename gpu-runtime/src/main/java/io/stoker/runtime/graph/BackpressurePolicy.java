package io.stoker.runtime.graph;

/** What {@code execute} does when {@code maxInFlight} executions are already in flight. */
public enum BackpressurePolicy {
    /** Wait until a result is fetched, up to {@link GraphOptions#submitTimeoutMillis()}, then fail. */
    WAIT,
    /** Fail at once with {@link CapacityExceededException}. */
    FAIL
}
