package io.stoker.llm.tensor;

/**
 * Element types of weight tensors. Quantized types are stored in blocks; {@link #blockSize()} elements take
 * {@link #blockBytes()} bytes.
 *
 * <pre>
 * F32   4 bytes/element, little-endian IEEE 754 binary32
 * F16   2 bytes/element, IEEE 754 binary16
 * BF16  2 bytes/element, upper half of a binary32
 * Q8_0  34 bytes per 32 elements: f16 scale d, then 32 x int8 q; value = d * q  (GGML's Q8_0)
 * </pre>
 */
public enum DType {
    F32(1, 4),
    F16(1, 2),
    BF16(1, 2),
    Q8_0(32, 34);

    private final int blockSize;
    private final int blockBytes;

    DType(int blockSize, int blockBytes) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    public int blockSize() {
        return blockSize;
    }

    public int blockBytes() {
        return blockBytes;
    }

    /** @return bytes taken by {@code n} elements; {@code n} must be a multiple of {@link #blockSize()} */
    public long bytesFor(long n) {
        return n / blockSize * blockBytes;
    }

    /** Parses a safetensors dtype string ({@code F32}, {@code F16}, {@code BF16}); null when unsupported. */
    public static DType fromSafetensors(String s) {
        switch (s) {
            case "F32":
                return F32;
            case "F16":
                return F16;
            case "BF16":
                return BF16;
            default:
                return null;
        }
    }

    /** GGML type ids (ggml.h {@code enum ggml_type}): F32=0, F16=1, Q8_0=8, BF16=30; null when unsupported. */
    public static DType fromGgml(int type) {
        switch (type) {
            case 0:
                return F32;
            case 1:
                return F16;
            case 8:
                return Q8_0;
            case 30:
                return BF16;
            default:
                return null;
        }
    }

    public int ggmlType() {
        switch (this) {
            case F32:
                return 0;
            case F16:
                return 1;
            case Q8_0:
                return 8;
            default:
                return 30;
        }
    }
}
