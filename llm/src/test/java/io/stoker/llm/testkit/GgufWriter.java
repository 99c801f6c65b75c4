package io.stoker.llm.testkit;

import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.Q8;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes GGUF version 3 files (for tests and benchmarks): typed metadata, then tensors in F32, F16 or Q8_0.
 * Shapes are given outermost first (Hugging Face order) and written as GGUF {@code ne} (innermost first).
 */
public final class GgufWriter {
    private static final int ALIGN = 32;
    private static final int MAGIC = 0x46554747; // "GGUF" little-endian
    // GGUF metadata value types (gguf.h enum gguf_type)
    private static final int T_UINT32 = 4;
    private static final int T_INT32 = 5;
    private static final int T_FLOAT32 = 6;
    private static final int T_BOOL = 7;
    private static final int T_STRING = 8;
    private static final int T_ARRAY = 9;

    private final Map<String, Object[]> meta = new LinkedHashMap<>(); // key -> {type, value}
    private final List<String> names = new ArrayList<>();
    private final List<long[]> shapes = new ArrayList<>();
    private final List<DType> types = new ArrayList<>();
    private final List<float[]> values = new ArrayList<>();

    public GgufWriter putString(String key, String v) {
        meta.put(key, new Object[]{T_STRING, v});
        return this;
    }

    public GgufWriter putU32(String key, long v) {
        meta.put(key, new Object[]{T_UINT32, v});
        return this;
    }

    public GgufWriter putI32(String key, int v) {
        meta.put(key, new Object[]{T_INT32, v});
        return this;
    }

    public GgufWriter putF32(String key, float v) {
        meta.put(key, new Object[]{T_FLOAT32, v});
        return this;
    }

    public GgufWriter putBool(String key, boolean v) {
        meta.put(key, new Object[]{T_BOOL, v});
        return this;
    }

    public GgufWriter putStrings(String key, List<String> v) {
        meta.put(key, new Object[]{T_ARRAY, T_STRING, v});
        return this;
    }

    public GgufWriter putI32s(String key, int[] v) {
        meta.put(key, new Object[]{T_ARRAY, T_INT32, v});
        return this;
    }

    public GgufWriter putF32s(String key, float[] v) {
        meta.put(key, new Object[]{T_ARRAY, T_FLOAT32, v});
        return this;
    }

    /** Drops a metadata key (to write files that lack it). */
    public GgufWriter remove(String key) {
        meta.remove(key);
        return this;
    }

    /** Adds a tensor; 1-D tensors are always written as F32 (as llama.cpp's converter does). */
    public GgufWriter addTensor(String name, float[] data, DType dtype, long... shape) {
        long cols = shape[shape.length - 1];
        if (shape.length == 1 || cols % dtype.blockSize() != 0) {
            dtype = DType.F32;
        }
        names.add(name);
        shapes.add(shape.clone());
        types.add(dtype);
        values.add(data);
        return this;
    }

    public void write(Path file) throws IOException {
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            Out out = new Out(os);
            out.i32(MAGIC);
            out.i32(3);
            out.i64(names.size());
            out.i64(meta.size());
            for (Map.Entry<String, Object[]> e : meta.entrySet()) {
                out.str(e.getKey());
                Object[] tv = e.getValue();
                int type = (Integer) tv[0];
                out.i32(type);
                if (type == T_ARRAY) {
                    int et = (Integer) tv[1];
                    out.i32(et);
                    if (et == T_STRING) {
                        @SuppressWarnings("unchecked")
                        List<String> l = (List<String>) tv[2];
                        out.i64(l.size());
                        for (String s : l) {
                            out.str(s);
                        }
                    } else if (et == T_INT32) {
                        int[] a = (int[]) tv[2];
                        out.i64(a.length);
                        for (int x : a) {
                            out.i32(x);
                        }
                    } else {
                        float[] a = (float[]) tv[2];
                        out.i64(a.length);
                        for (float x : a) {
                            out.i32(Float.floatToRawIntBits(x));
                        }
                    }
                } else {
                    scalar(out, type, tv[1]);
                }
            }
            long offset = 0;
            long[] offs = new long[names.size()];
            for (int i = 0; i < names.size(); i++) {
                offs[i] = offset;
                out.str(names.get(i));
                long[] s = shapes.get(i);
                out.i32(s.length);
                for (int d = s.length - 1; d >= 0; d--) {
                    out.i64(s[d]);
                }
                out.i32(types.get(i).ggmlType());
                out.i64(offset);
                offset += pad(types.get(i).bytesFor(values.get(i).length));
            }
            out.padTo(ALIGN);
            for (int i = 0; i < names.size(); i++) {
                float[] v = values.get(i);
                DType dt = types.get(i);
                long before = out.pos;
                if (dt == DType.Q8_0) {
                    int cols = (int) shapes.get(i)[shapes.get(i).length - 1];
                    byte[] row = new byte[(int) dt.bytesFor(cols)];
                    for (int r = 0; r < v.length / cols; r++) {
                        Q8.quantize(v, r * cols, cols, row, 0);
                        out.bytes(row);
                    }
                } else {
                    SafetensorsWriter.writeValues(out, v, dt);
                    out.pos += dt.bytesFor(v.length);
                }
                if (out.pos - before != dt.bytesFor(v.length)) {
                    throw new IllegalStateException("size mismatch writing " + names.get(i));
                }
                out.padTo(ALIGN);
            }
        }
    }

    private static long pad(long n) {
        return (n + ALIGN - 1) / ALIGN * ALIGN;
    }

    private static void scalar(Out out, int type, Object v) throws IOException {
        switch (type) {
            case T_STRING:
                out.str((String) v);
                break;
            case T_UINT32:
                out.i32((int) (long) (Long) v);
                break;
            case T_INT32:
                out.i32((Integer) v);
                break;
            case T_FLOAT32:
                out.i32(Float.floatToRawIntBits((Float) v));
                break;
            case T_BOOL:
                out.write((Boolean) v ? 1 : 0);
                out.pos++;
                break;
            default:
                throw new IllegalArgumentException("type " + type);
        }
    }

    /** Little-endian output that counts bytes (bulk float writes bump {@code pos} themselves). */
    private static final class Out extends OutputStream {
        private final OutputStream os;
        private final ByteBuffer b8 = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        long pos;

        Out(OutputStream os) {
            this.os = os;
        }

        @Override
        public void write(int b) throws IOException {
            os.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            os.write(b, off, len);
        }

        void bytes(byte[] b) throws IOException {
            os.write(b);
            pos += b.length;
        }

        void i32(int v) throws IOException {
            b8.clear();
            b8.putInt(v);
            os.write(b8.array(), 0, 4);
            pos += 4;
        }

        void i64(long v) throws IOException {
            b8.clear();
            b8.putLong(v);
            os.write(b8.array(), 0, 8);
            pos += 8;
        }

        void str(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            bytes(b);
        }

        void padTo(int a) throws IOException {
            while (pos % a != 0) {
                os.write(0);
                pos++;
            }
        }
    }
}
