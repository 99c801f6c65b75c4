package io.stoker.runtime.channel;

/**
 * The writing end of a {@link Channel}. Exactly one thread writes at a time.
 *
 * @param <T> payload type
 */
public interface ChannelWriter<T> {
    /**
     * Offers a value without blocking.
     *
     * @param value the payload, never null
     * @return true when accepted; false when the channel is full or closed (the caller decides whether to retry)
     */
    boolean offer(T value);
}
