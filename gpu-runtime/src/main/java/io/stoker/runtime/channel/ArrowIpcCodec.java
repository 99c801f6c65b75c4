package io.stoker.runtime.channel;

import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.io.DirectBufferInputStream;
import org.agrona.io.ExpandableDirectBufferOutputStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Arrow record batches as Arrow IPC streams (schema + one batch), the format every Arrow implementation reads.
 * Decoded batches are allocated from the reader's {@link BufferAllocator} and owned by the caller, who closes them.
 */
public final class ArrowIpcCodec implements PayloadCodec<VectorSchemaRoot> {
    private final BufferAllocator allocator;

    /** @param allocator where decoded batches are allocated (the reading side's, named and limited) */
    public ArrowIpcCodec(BufferAllocator allocator) {
        this.allocator = allocator;
    }

    @Override
    public int encode(VectorSchemaRoot root, ExpandableDirectByteBuffer scratch) {
        ExpandableDirectBufferOutputStream out = new ExpandableDirectBufferOutputStream(scratch);
        try (ArrowStreamWriter w = new ArrowStreamWriter(root, null, out)) {
            w.start();
            w.writeBatch();
            w.end();
        } catch (IOException e) {
            throw new UncheckedIOException("encoding an Arrow batch of " + root.getRowCount() + " rows failed", e);
        }
        return out.position();
    }

    @Override
    public VectorSchemaRoot decode(DirectBuffer buffer, int offset, int length) {
        try (ArrowStreamReader r = new ArrowStreamReader(new DirectBufferInputStream(buffer, offset, length),
                allocator)) {
            VectorSchemaRoot in = r.getVectorSchemaRoot();
            if (!r.loadNextBatch()) {
                throw new IllegalStateException("Arrow IPC frame of " + length + " bytes holds no record batch");
            }
            List<FieldVector> owned = new ArrayList<>();
            for (FieldVector v : in.getFieldVectors()) {
                var tp = v.getTransferPair(allocator);
                tp.transfer();
                owned.add((FieldVector) tp.getTo());
            }
            return new VectorSchemaRoot(in.getSchema(), owned, in.getRowCount());
        } catch (IOException e) {
            throw new UncheckedIOException("decoding an Arrow IPC frame of " + length + " bytes failed", e);
        }
    }
}
