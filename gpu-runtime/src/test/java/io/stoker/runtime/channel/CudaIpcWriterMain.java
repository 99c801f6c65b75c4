package io.stoker.runtime.channel;

import io.stoker.runtime.cuda.CudaDevice;
import io.stoker.runtime.cuda.CudaDeviceConfig;
import io.stoker.runtime.cuda.DeviceArray;

import java.nio.file.Path;

/**
 * Child process for {@link CudaIpcChannelTest}: opens the parent's CUDA IPC channel on device 0 and sends
 * {@code count} arrays of {@code elements} floats (array a holds {@code a * 1000 + i + 0.5}), each offered as soon as
 * a slot is free, then closes its end. Before that it offers one array larger than a slot and prints the error.
 *
 * <p>With a fifth argument {@code bench} it instead sends one array of {@code elements} floats {@code count} times as
 * fast as the reader frees slots and prints {@code BENCH <bytes> <nanos>}: the bytes moved and the time from the
 * first offer until every copy was published (for {@code GpuCommCheckMain}).
 */
public final class CudaIpcWriterMain {
    private CudaIpcWriterMain() {
    }

    public static void main(String[] args) throws Exception {
        Path filled = Path.of(args[0]);
        Path free = Path.of(args[1]);
        int count = Integer.parseInt(args[2]);
        int elements = Integer.parseInt(args[3]);
        boolean bench = args.length > 4 && args[4].equals("bench");
        try (CudaDevice d = CudaDevice.open(0, new CudaDeviceConfig(256L << 20, 0.9, null, 1L << 20))) {
            try (CudaIpcChannel.Writer w = CudaIpcChannel.Writer.open("ipc", d, filled, free, 30_000)) {
                if (bench) {
                    bench(d, w, count, elements);
                    return;
                }
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

    private static void bench(CudaDevice d, CudaIpcChannel.Writer w, int count, int elements) {
        try (DeviceArray x = DeviceArray.allocate(d, io.stoker.runtime.cuda.CudaDataType.F32, elements, "bench")) {
            x.buffer().fillFloatsAsync(1f, elements, d.stream());
            d.stream().synchronize();
            long t0 = System.nanoTime();
            long deadline = t0 + 120_000_000_000L;
            for (int a = 0; a < count; a++) {
                while (!w.offer(x)) {
                    if (w.isReaderClosed() || System.nanoTime() > deadline) {
                        throw new IllegalStateException("no free slot for array " + a);
                    }
                    Thread.onSpinWait();
                }
            }
            w.flush();
            long nanos = System.nanoTime() - t0;
            System.out.println("BENCH " + (long) count * x.bytes() + " " + nanos);
        }
    }
}
