package io.stoker.runtime.channel;

import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;

/**
 * Turns payloads into bytes and back, for channels whose ends live in different processes.
 *
 * @param <T> payload type
 */
public interface PayloadCodec<T> {
    /**
     * Encodes {@code value} into {@code scratch} from offset 0.
     *
     * @return the number of bytes written
     */
    int encode(T value, ExpandableDirectByteBuffer scratch);

    /** Decodes one payload of {@code length} bytes at {@code offset}; the result must not refer to {@code buffer}. */
    T decode(DirectBuffer buffer, int offset, int length);
}
