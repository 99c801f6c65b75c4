package io.stoker.runtime.cuda;

import java.util.Objects;

/**
 * A typed run of device memory: {@code count} elements of {@code type} at the start of {@code buffer}. This is what
 * the NCCL communicator reduces and what GPU channels carry between actors.
 *
 * <p>Whoever holds a {@code DeviceArray} owns its buffer unless documented otherwise (a channel's view); closing it
 * closes the buffer. Reading {@link #address()}, {@link #bytes()} and {@link #device()} is safe from any thread;
 * everything that touches the memory belongs to the buffer's device thread.
 *
 * @param buffer the memory (at least {@code count * type.bytes()} bytes)
 * @param type   element type
 * @param count  number of elements, {@code >= 0}
 */
public record DeviceArray(DeviceBuffer buffer, CudaDataType type, long count) implements AutoCloseable {
    public DeviceArray {
        Objects.requireNonNull(buffer, "buffer");
        Objects.requireNonNull(type, "type");
        if (count < 0 || count * type.bytes() > buffer.bytes()) {
            throw new IllegalArgumentException(count + " elements of " + type + " (" + count * type.bytes()
                    + " bytes) do not fit device buffer '" + buffer.name() + "' of " + buffer.bytes() + " bytes");
        }
    }

    /** Allocates {@code count} elements of {@code type} on {@code device} (owner thread only). */
    public static DeviceArray allocate(CudaDevice device, CudaDataType type, long count, String name) {
        return new DeviceArray(device.allocate(Math.max(1, count * type.bytes()), name), type, count);
    }

    /** @return a device array of {@code values} (owner thread only; synchronous copy) */
    public static DeviceArray of(CudaDevice device, float[] values, String name) {
        DeviceArray a = allocate(device, CudaDataType.F32, values.length, name);
        a.buffer.copyFrom(values);
        return a;
    }

    /** @return the elements as floats, after the device's queued work (F32 only; owner thread only) */
    public float[] toFloats() {
        if (type != CudaDataType.F32) {
            throw new IllegalStateException("device array of " + type + " is not F32");
        }
        float[] out = new float[Math.toIntExact(count)];
        buffer.copyTo(out);
        return out;
    }

    /** @return the device pointer of the first element */
    public long address() {
        return buffer.address();
    }

    /** @return {@code count * type.bytes()} */
    public long bytes() {
        return count * type.bytes();
    }

    public CudaDevice device() {
        return buffer.device();
    }

    @Override
    public void close() {
        buffer.close();
    }

    @Override
    public String toString() {
        return "DeviceArray[" + count + " x " + type + " on device " + buffer.device().ordinal() + ", '"
                + buffer.name() + "']";
    }
}
