package io.stoker.llm.load;

import io.stoker.llm.tensor.DType;
import io.stoker.llm.tensor.MappedTensor;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a GGUF file (version 2 or 3): metadata key/values, tensor infos, then tensor data aligned to
 * {@code general.alignment} (default 32). Tensors are memory-mapped and keep their GGUF names; dimensions are
 * reported outermost first (GGUF's {@code ne} reversed), so a {@code [ne0=in, ne1=out]} weight reads as
 * {@code [out, in]} like a Hugging Face tensor.
 *
 * <pre>
 * u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 * n_kv x (string key, u32 type, value)
 * n_tensors x (string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset)
 * padding to alignment | tensor data
 * </pre>
 */
public final class GgufFile {
    static final int MAGIC = 0x46554747; // "GGUF" little-endian
    static final int T_UINT8 = 0, T_INT8 = 1, T_UINT16 = 2, T_INT16 = 3, T_UINT32 = 4, T_INT32 = 5, T_FLOAT32 = 6,
            T_BOOL = 7, T_STRING = 8, T_ARRAY = 9, T_UINT64 = 10, T_INT64 = 11, T_FLOAT64 = 12;

    private final Path file;
    private final Map<String, Object> metadata;
    private final Map<String, MappedTensor> tensors;

    private GgufFile(Path file, Map<String, Object> metadata, Map<String, MappedTensor> tensors) {
        this.file = file;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /**
     * @throws ModelFormatException naming the file (and tensor) on a bad magic, version, type or offset
     */
    public static GgufFile open(Path file) {
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new ModelFormatException("cannot read " + file + ": " + e, e);
        }
        Map<String, Object> meta = new LinkedHashMap<>();
        List<String> names = new ArrayList<>();
        List<long[]> shapes = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        List<Long> offsets = new ArrayList<>();
        long headerEnd;
        try (Reader r = new Reader(new BufferedInputStream(Files.newInputStream(file), 1 << 16), size)) {
            int magic = r.i32();
            if (magic != MAGIC) {
                throw new ModelFormatException(file + ": not a GGUF file (magic 0x" + Integer.toHexString(magic)
                        + ", expected 0x46554747 \"GGUF\")");
            }
            int version = r.i32();
            if (version != 2 && version != 3) {
                throw new ModelFormatException(file + ": GGUF version " + version + " is not supported (2 or 3)");
            }
            long nt = r.i64();
            long nkv = r.i64();
            if (nt < 0 || nkv < 0 || nt > 1_000_000 || nkv > 1_000_000) {
                throw new ModelFormatException(file + ": corrupt GGUF header (" + nt + " tensors, " + nkv
                        + " metadata entries)");
            }
            for (long i = 0; i < nkv; i++) {
                String key = r.str();
                int type = r.i32();
                meta.put(key, r.value(type, key));
            }
            for (long i = 0; i < nt; i++) {
                String name = r.str();
                int nd = r.i32();
                if (nd < 1 || nd > 4) {
                    throw new ModelFormatException(file + ": tensor '" + name + "' has " + nd + " dimensions");
                }
                long[] ne = new long[nd];
                for (int d = 0; d < nd; d++) {
                    ne[d] = r.i64();
                }
                long[] shape = new long[nd];
                for (int d = 0; d < nd; d++) {
                    shape[d] = ne[nd - 1 - d];
                }
                names.add(name);
                shapes.add(shape);
                types.add(r.i32());
                offsets.add(r.i64());
            }
            headerEnd = r.pos;
        } catch (EOFException e) {
            throw new ModelFormatException(file + ": corrupt GGUF header (ends before its declared entries); the file"
                    + " is truncated", e);
        } catch (IOException e) {
            throw new ModelFormatException("cannot read " + file + ": " + e, e);
        }
        long align = meta.get("general.alignment") instanceof Number ? ((Number) meta.get("general.alignment")).longValue()
                : 32;
        long dataStart = (headerEnd + align - 1) / align * align;
        Map<String, MappedTensor> tensors = new LinkedHashMap<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            for (int i = 0; i < names.size(); i++) {
                String name = names.get(i);
                DType dt = DType.fromGgml(types.get(i));
                if (dt == null) {
                    throw new ModelFormatException(file + ": tensor '" + name + "' has GGML type " + types.get(i)
                            + ", not one of F32(0), F16(1), Q8_0(8), BF16(30); re-quantize the model");
                }
                long count = 1;
                for (long d : shapes.get(i)) {
                    count *= d;
                }
                long cols = shapes.get(i)[shapes.get(i).length - 1];
                if (cols % dt.blockSize() != 0) {
                    throw new ModelFormatException(file + ": tensor '" + name + "' has " + cols
                            + " columns, not a multiple of the " + dt + " block size");
                }
                long bytes = dt.bytesFor(count);
                long off = dataStart + offsets.get(i);
                if (offsets.get(i) < 0 || off + bytes > size) {
                    throw new ModelFormatException(file + ": tensor '" + name + "' " + Arrays.toString(shapes.get(i))
                            + " at offset " + offsets.get(i) + " extends past the end of the file (" + size
                            + " bytes); the file is truncated or corrupt");
                }
                tensors.put(name, Mapping.map(ch, file, name, dt, shapes.get(i), off, bytes));
            }
        } catch (IOException e) {
            throw new ModelFormatException("cannot map " + file + ": " + e, e);
        }
        return new GgufFile(file, meta, tensors);
    }

    public Path file() {
        return file;
    }

    public Map<String, Object> metadata() {
        return metadata;
    }

    public Map<String, MappedTensor> tensors() {
        return tensors;
    }

    /** @return the metadata value as a string, or null */
    public String string(String key) {
        Object v = metadata.get(key);
        return v == null ? null : v.toString();
    }

    /** @return a numeric metadata value, or {@code dflt} when absent */
    public Number number(String key, Number dflt) {
        Object v = metadata.get(key);
        return v instanceof Number ? (Number) v : dflt;
    }

    /** @return a required numeric metadata value */
    public Number requireNumber(String key) {
        Object v = metadata.get(key);
        if (!(v instanceof Number)) {
            throw new ModelFormatException(file + ": GGUF metadata '" + key + "' is missing or not a number");
        }
        return (Number) v;
    }

    /** Little-endian reader that tracks its position and bounds lengths by the file size. */
    private static final class Reader implements AutoCloseable {
        private final DataInputStream in;
        private final long size;
        long pos;

        Reader(InputStream in, long size) {
            this.in = new DataInputStream(in);
            this.size = size;
        }

        int u8() throws IOException {
            pos++;
            return in.readUnsignedByte();
        }

        int i16() throws IOException {
            pos += 2;
            return Short.reverseBytes(in.readShort());
        }

        int i32() throws IOException {
            pos += 4;
            return Integer.reverseBytes(in.readInt());
        }

        long i64() throws IOException {
            pos += 8;
            return Long.reverseBytes(in.readLong());
        }

        String str() throws IOException {
            long n = i64();
            if (n < 0 || n > size - pos) {
                throw new ModelFormatException("corrupt GGUF header: string length " + n + " at byte " + pos);
            }
            byte[] b = new byte[(int) n];
            in.readFully(b);
            pos += n;
            return new String(b, StandardCharsets.UTF_8);
        }

        Object value(int type, String key) throws IOException {
            switch (type) {
                case T_UINT8:
                    return u8();
                case T_INT8:
                    return (int) (byte) u8();
                case T_UINT16:
                    return i16() & 0xffff;
                case T_INT16:
                    return i16();
                case T_UINT32:
                    return i32() & 0xffffffffL;
                case T_INT32:
                    return i32();
                case T_FLOAT32:
                    return Float.intBitsToFloat(i32());
                case T_BOOL:
                    return u8() != 0;
                case T_STRING:
                    return str();
                case T_UINT64:
                case T_INT64:
                    return i64();
                case T_FLOAT64:
                    return Double.longBitsToDouble(i64());
                case T_ARRAY: {
                    int et = i32();
                    long n = i64();
                    if (n < 0 || n > size - pos) {
                        throw new ModelFormatException("corrupt GGUF header: array '" + key + "' of " + n
                                + " elements");
                    }
                    List<Object> l = new ArrayList<>((int) n);
                    for (long i = 0; i < n; i++) {
                        l.add(value(et, key));
                    }
                    return l;
                }
                default:
                    throw new ModelFormatException("corrupt GGUF header: metadata '" + key + "' has unknown type "
                            + type);
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
