package io.stoker.runtime.channel;

import org.agrona.concurrent.OneToOneConcurrentArrayQueue;

/**
 * A lock-free single-producer single-consumer ring of references between two threads of one JVM, backed by Agrona's
 * {@link OneToOneConcurrentArrayQueue}. The queue publishes each slot with an ordered store, so everything the producer
 * wrote before {@link #offer} (for example an Arrow record batch's buffers) is visible to the consumer after
 * {@link #poll}. Payloads cross without copying. The capacity is rounded up to a power of two.
 *
 * <p>When a consumer may be parked, the producer wakes it through the optional {@link Runnable} given at creation
 * (the actor's wake-up hook), so parked actors do not add their park period to latency.
 *
 * @param <T> payload type
 */
public final class RingChannel<T> implements Channel<T> {
    private final String name;
    private final OneToOneConcurrentArrayQueue<T> queue;
    private final Runnable wakeConsumer;
    private volatile boolean closed;

    /**
     * @param name         diagnostic name
     * @param capacity     minimum number of values held (rounded up to a power of two)
     * @param wakeConsumer called after each successful offer; must be cheap when the consumer is awake
     */
    public RingChannel(String name, int capacity, Runnable wakeConsumer) {
        if (capacity < 1) {
            throw new IllegalArgumentException("channel " + name + ": capacity=" + capacity + " must be >= 1");
        }
        this.name = name;
        this.queue = new OneToOneConcurrentArrayQueue<>(capacity);
        this.wakeConsumer = wakeConsumer;
    }

    @Override
    public boolean offer(T value) {
        if (closed || !queue.offer(value)) {
            return false;
        }
        wakeConsumer.run();
        return true;
    }

    @Override
    public T poll() {
        return queue.poll();
    }

    @Override
    public boolean hasValue() {
        return !queue.isEmpty();
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int capacity() {
        return queue.capacity();
    }

    @Override
    public ChannelKind kind() {
        return ChannelKind.RING;
    }

    /** @return values currently held (approximate while both ends are active) */
    public int size() {
        return queue.size();
    }

    /** Marks the channel closed; later offers fail. Values still held are dropped with the channel. */
    @Override
    public void close() {
        closed = true;
    }

    @Override
    public String toString() {
        return "RingChannel[" + name + ", capacity=" + capacity() + "]";
    }
}
