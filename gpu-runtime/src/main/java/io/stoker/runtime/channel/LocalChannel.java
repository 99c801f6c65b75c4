package io.stoker.runtime.channel;

/**
 * A one-slot channel whose producer and consumer run on the same thread (two tasks of one actor). The reference is
 * handed over without copying or any memory fence. Not thread-safe by design.
 *
 * @param <T> payload type
 */
public final class LocalChannel<T> implements Channel<T> {
    private final String name;
    private T value;
    private boolean closed;

    public LocalChannel(String name) {
        this.name = name;
    }

    @Override
    public boolean offer(T v) {
        if (closed || value != null) {
            return false;
        }
        value = v;
        return true;
    }

    @Override
    public T poll() {
        T v = value;
        value = null;
        return v;
    }

    @Override
    public boolean hasValue() {
        return value != null;
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
        return 1;
    }

    @Override
    public ChannelKind kind() {
        return ChannelKind.LOCAL;
    }

    @Override
    public void close() {
        closed = true;
        value = null;
    }

    @Override
    public String toString() {
        return "LocalChannel[" + name + "]";
    }
}
