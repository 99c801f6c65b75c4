package io.stoker.llm.testkit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.Float16;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes float tensors as a {@code .safetensors} file in F32, F16 or BF16 (for tests and benchmarks). */
public final class SafetensorsWriter {
    private final Map<String, long[]> shapes = new LinkedHashMap<>();
    private final Map<String, float[]> data = new LinkedHashMap<>();

    public SafetensorsWriter add(String name, float[] values, long... shape) {
        shapes.put(name, shape.clone());
        data.put(name, values);
        return this;
    }

    public void write(Path file, DType dtype) throws IOException {
        if (dtype == DType.Q8_0) {
            throw new IllegalArgumentException("safetensors has no Q8_0; use F32, F16 or BF16");
        }
        ObjectMapper m = new ObjectMapper();
        ObjectNode hdr = m.createObjectNode();
        long off = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            ObjectNode t = hdr.putObject(e.getKey());
            t.put("dtype", dtype.name());
            ArrayNode s = t.putArray("shape");
            for (long d : e.getValue()) {
                s.add(d);
            }
            long len = dtype.bytesFor(data.get(e.getKey()).length);
            t.putArray("data_offsets").add(off).add(off + len);
            off += len;
        }
        hdr.putObject("__metadata__").put("format", "pt");
        byte[] json = m.writeValueAsBytes(hdr);
        int pad = (8 - json.length % 8) % 8;
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length + pad);
            out.write(len.array());
            out.write(json);
            for (int i = 0; i < pad; i++) {
                out.write(' ');
            }
            for (float[] v : data.values()) {
                writeValues(out, v, dtype);
            }
        }
    }

    static void writeValues(OutputStream out, float[] v, DType dtype) throws IOException {
        int es = dtype == DType.F32 ? 4 : 2;
        ByteBuffer b = ByteBuffer.allocate(Math.min(v.length, 1 << 16) * es).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < v.length; i++) {
            if (dtype == DType.F32) {
                b.putFloat(v[i]);
            } else if (dtype == DType.F16) {
                b.putShort(Float16.fromFloat(v[i]));
            } else {
                b.putShort(Float16.floatToBf16(v[i]));
            }
            if (!b.hasRemaining()) {
                out.write(b.array(), 0, b.position());
                b.clear();
            }
        }
        out.write(b.array(), 0, b.position());
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
