package io.stoker.runtime.channel;

/**
 * A pre-allocated, bounded, ordered pipe between one producer and one consumer.
 *
 * <p>Every channel of a compiled graph is allocated at compile time with a capacity of at least the graph's
 * max-in-flight executions, so in steady state {@link #offer} never fails. Implementations differ only in where the
 * two ends live ({@link ChannelKind}); the schedule that drives them is the same. {@link #close()} is idempotent.
 *
 * @param <T> payload type
 */
public interface Channel<T> extends ChannelWriter<T>, ChannelReader<T>, AutoCloseable {
    /** @return a name for diagnostics, e.g. {@code "a.f -> b.g"} */
    String name();

    /** @return how many values the channel can hold before {@link #offer} returns false */
    int capacity();

    /** @return where the two ends live */
    ChannelKind kind();

    /** Closes the channel: later offers fail, and readers see {@link #isClosed()} once drained. */
    @Override
    void close();
}
