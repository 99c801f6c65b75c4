package io.stoker.llm.load;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.MappedTensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads a {@code .safetensors} file: an 8-byte little-endian header length N, N bytes of JSON
 * ({@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}}), then
 * the data; offsets are relative to the end of the header. Tensors are memory-mapped.
 */
public final class SafetensorsFile {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    private SafetensorsFile() {
    }

    /**
     * Maps every tensor of {@code file} into {@code out}.
     *
     * @throws ModelFormatException naming the file (and tensor) when the header is corrupt or a tensor lies outside
     *                              the file or has an unsupported dtype
     */
    public static void read(Path file, Map<String, MappedTensor> out, Map<String, Path> origin) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new ModelFormatException(file + " is " + size + " bytes long, too short for a safetensors header;"
                        + " the file is truncated or not safetensors");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long n = lenBuf.getLong(0);
            if (n <= 1 || n > MAX_HEADER || 8 + n > size) {
                throw new ModelFormatException(file + ": corrupt safetensors header (header length " + n
                        + ", file size " + size + "); re-download or re-export the file");
            }
            ByteBuffer hdr = ByteBuffer.allocate((int) n);
            readFully(ch, hdr, 8);
            JsonNode root;
            try {
                root = JSON.readTree(hdr.array());
            } catch (IOException e) {
                throw new ModelFormatException(file + ": corrupt safetensors header (invalid JSON: "
                        + e.getMessage().split("\n")[0] + "); re-download or re-export the file", e);
            }
            if (root == null || !root.isObject()) {
                throw new ModelFormatException(file + ": corrupt safetensors header (not a JSON object)");
            }
            long dataStart = 8 + n;
            Iterator<Map.Entry<String, JsonNode>> it = root.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                if (name.equals("__metadata__")) {
                    continue;
                }
                JsonNode t = e.getValue();
                String dt = t.path("dtype").asText("");
                DType dtype = DType.fromSafetensors(dt);
                if (dtype == null) {
                    throw new ModelFormatException(file + ": tensor '" + name + "' has dtype '" + dt
                            + "', not one of F32, F16, BF16; convert the checkpoint");
                }
                JsonNode shapeNode = t.path("shape");
                JsonNode offs = t.path("data_offsets");
                if (!shapeNode.isArray() || !offs.isArray() || offs.size() != 2) {
                    throw new ModelFormatException(file + ": tensor '" + name + "' lacks shape or data_offsets");
                }
                long[] shape = new long[shapeNode.size()];
                long count = 1;
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = shapeNode.get(i).asLong(-1);
                    if (shape[i] < 0) {
                        throw new ModelFormatException(file + ": tensor '" + name + "' has a negative dimension");
                    }
                    count *= shape[i];
                }
                long b = offs.get(0).asLong(-1);
                long end = offs.get(1).asLong(-1);
                if (b < 0 || end < b || dataStart + end > size || end - b != dtype.bytesFor(count)) {
                    throw new ModelFormatException(file + ": tensor '" + name + "' data_offsets [" + b + ", " + end
                            + "] do not fit its shape and dtype or lie past the end of the file (" + size
                            + " bytes); the file is truncated or corrupt");
                }
                if (out.containsKey(name)) {
                    throw new ModelFormatException(file + ": tensor '" + name + "' also appears in "
                            + origin.get(name));
                }
                out.put(name, Mapping.map(ch, file, name, dtype, shape, dataStart + b, end - b));
                origin.put(name, file);
            }
        } catch (IOException e) {
            throw new ModelFormatException("cannot read " + file + ": " + e, e);
        }
    }

    /** Reads one file on its own. */
    public static TensorStore open(Path file) {
        Map<String, MappedTensor> t = new LinkedHashMap<>();
        Map<String, Path> o = new LinkedHashMap<>();
        read(file, t, o);
        return new TensorStore(t, o, file.toString());
    }

    static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            int r = ch.read(b, pos + b.position());
            if (r < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }
}
