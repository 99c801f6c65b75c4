package io.stoker.runtime.channel;

import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaDeviceConfig;
import io.stoker.runtime.cuda.DeviceArray;

import java.nio.file.Path;

/**
 * Child process for {@link CudaIpcChannelTest}: opens the parent's CUDA IPC channel on device 0 and sends
 * {@code count} arrays of {@code elements} floats (array a holds {@code a * 1000 + i + 0.5}), each offered as soon as
 * a slot is free, then closes its end. Before that it offers one array larger than a slot and prints the error.
 */
public final class CudaIpcWriterMain {
    private CudaIpcWriterMain() {
    }

    public static void main(String[] args) throws Exception {
        Path filled = Path.of(args[0]);
        Path free = Path.of(args[1]);
        int count = Integer.parseInt(args[2]);
        int elements = Integer.parseInt(args[3]);
        try (CudaDevice d = CudaDevice.open(0, new CudaDeviceConfig(64L << 20, 0.9, null, 1L << 20))) {
            try (CudaIpcChannel.Writer w = CudaIpcChannel.Writer.open("ipc", d, filled, free, 30_000)) {
                try (DeviceArray big = DeviceArray.allocate(d, io.stoker.runtime.cuda.CudaDataType.F32,
                        w.slotBytes() / 4 + 1, "too-big")) {
                    w.offer(big);
                } catch (IllegalArgumentException e) {
                    System.out.println("REFUSED: " + e.getMessage());
                }
                for (int a = 0; a < count; a++) {
                    float[] v = new float[elements];
                    for (int i = 0; i < elements; i++) {
                        v[i] = a * 1000 + i + 0.5f;
                    }
                    try (DeviceArray x = DeviceArray.of(d, v, "x" + a)) {
                        long deadline = System.nanoTime() + 30_000_000_000L;
                        while (!w.offer(x)) {
                            if (w.isReaderClosed() || System.nanoTime() > deadline) {
                                throw new IllegalStateException("no free slot for array " + a);
                            }
                            Thread.sleep(1);
                        }
                    }
                }
                System.out.println("SENT " + count);
            }
        }
    }
}
