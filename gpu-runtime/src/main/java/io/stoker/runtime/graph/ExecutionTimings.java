package io.stoker.runtime.graph;

/**
 * Where one execution's time went, measured with {@link System#nanoTime()}.
 *
 * @param queueNanos   submit until the first task started (waiting behind earlier executions, waking actors)
 * @param computeNanos the sum of all its tasks' run times (can exceed {@code totalNanos} when branches overlap)
 * @param channelNanos first task start until the last output arrived, minus {@code computeNanos}, floored at 0:
 *                     time spent passing values between actors (exact for a chain, a lower bound with parallel
 *                     branches)
 * @param totalNanos   submit until the last output arrived
 */
public record ExecutionTimings(long queueNanos, long computeNanos, long channelNanos, long totalNanos) {
}
