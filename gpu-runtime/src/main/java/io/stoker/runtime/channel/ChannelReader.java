package io.stoker.runtime.channel;

/**
 * The reading end of a {@link Channel}. Exactly one thread reads at a time.
 *
 * @param <T> payload type
 */
public interface ChannelReader<T> {
    /**
     * Takes the next value without blocking.
     *
     * @return the next value in write order, or null when none is available yet
     */
    T poll();

    /** @return true when a value is waiting, without taking it */
    boolean hasValue();

    /** @return true once the channel was closed; a closed channel may still hold values to drain. */
    boolean isClosed();
}
