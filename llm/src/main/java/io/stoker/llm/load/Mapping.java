package io.stoker.llm.load;

import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.MappedTensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/** Maps a tensor's byte range of a file read-only, in chunks of whole rows of at most 1 GiB. */
final class Mapping {
    static final long MAX_CHUNK = 1L << 30;

    private Mapping() {
    }

    static MappedTensor map(FileChannel ch, Path file, String name, DType dtype, long[] shape, long offset,
                            long size) throws IOException {
        long cols = shape.length == 0 ? 1 : shape[shape.length - 1];
        long rowBytes = dtype.bytesFor(cols);
        long rows = rowBytes == 0 ? 0 : size / rowBytes;
        int rpc = MappedTensor.rowsPerChunk(dtype, cols, MAX_CHUNK);
        int n = (int) Math.max(1, (rows + rpc - 1) / rpc);
        ByteBuffer[] chunks = new ByteBuffer[n];
        for (int i = 0; i < n; i++) {
            long r0 = (long) i * rpc;
            long len = Math.min(rows - r0, rpc) * rowBytes;
            chunks[i] = ch.map(FileChannel.MapMode.READ_ONLY, offset + r0 * rowBytes, Math.max(0, len));
        }
        try {
            return new MappedTensor(name, dtype, shape, chunks, rpc);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file + ": " + e.getMessage(), e);
        }
    }
}
