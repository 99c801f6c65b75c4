package io.stoker.runtime.channel;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Child process for {@link SharedMemoryChannelTest}: opens a channel file and writes {@code count} Arrow batches
 * (batch b holds rows b*10 .. b*10+9), then closes, or with "hang" keeps heart-beating forever without closing.
 */
public final class SharedMemoryWriterMain {
    private SharedMemoryWriterMain() {
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        int count = Integer.parseInt(args[1]);
        boolean hang = args.length > 2 && args[2].equals("hang");
        try (BufferAllocator alloc = new RootAllocator()) {
            SharedMemoryChannel<VectorSchemaRoot> ch = SharedMemoryChannel.open("child", file, new ArrowIpcCodec(alloc));
            for (int b = 0; b < count; b++) {
                try (BigIntVector ids = new BigIntVector("id", alloc);
                     VarCharVector text = new VarCharVector("text", alloc)) {
                    ids.allocateNew(10);
                    text.allocateNew(10);
                    for (int i = 0; i < 10; i++) {
                        ids.set(i, b * 10L + i);
                        text.setSafe(i, ("row " + (b * 10 + i)).getBytes(StandardCharsets.UTF_8));
                    }
                    ids.setValueCount(10);
                    text.setValueCount(10);
                    VectorSchemaRoot root = VectorSchemaRoot.of(ids, text);
                    while (!ch.offer(root)) {
                        Thread.yield();
                    }
                }
            }
            if (hang) {
                while (true) {
                    ch.heartbeat();
                    Thread.sleep(50);
                }
            }
            ch.close();
        }
    }
}
