package io.stoker.runtime.channel;

/**
 * A channel that carries device memory ({@code DeviceArray}s) between GPU actors; any other value crosses it by
 * reference, in order. Each end holds device resources of its own actor's thread, so when a graph is removed each
 * end is released on that thread: {@link #releaseWriterEnd()} by the writer's, {@link #releaseReaderEnd()} by the
 * reader's, in either order.
 */
public interface DeviceChannel extends Channel<Object> {
    /** @return {@link ChannelKind#GPU}: every device channel carries device memory */
    @Override
    default ChannelKind kind() {
        return ChannelKind.GPU;
    }

    /** @return how this channel moves device memory */
    GpuChannelKind gpuKind();

    /** Frees what the writer's side still holds (values not read, sources of finished copies). Writer thread. */
    void releaseWriterEnd();

    /** Frees what the reader's side still holds. Reader thread. */
    void releaseReaderEnd();
}
