package io.stoker.llm.tensor;

/**
 * GGML Q8_0 blocks: 32 values share one f16 scale {@code d = max|x| / 127}; each value is
 * {@code q = round(x / d)} as int8.
 *
 * <pre>
 *  byte 0..1   d  (f16, little-endian)
 *  byte 2..33  q[0..31]  (int8)
 * </pre>
 */
public final class Q8 {
    public static final int BLOCK = 32;
    public static final int BLOCK_BYTES = 34;

    private Q8() {
    }

    /** Quantizes {@code n} floats (multiple of 32) the way ggml's {@code quantize_row_q8_0_ref} does. */
    public static void quantize(float[] src, int off, int n, byte[] dst, int dstOff) {
        for (int b = 0; b < n / BLOCK; b++) {
            float amax = 0;
            for (int j = 0; j < BLOCK; j++) {
                amax = Math.max(amax, Math.abs(src[off + b * BLOCK + j]));
            }
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            short dh = Float16.fromFloat(d);
            int o = dstOff + b * BLOCK_BYTES;
            dst[o] = (byte) dh;
            dst[o + 1] = (byte) (dh >> 8);
            for (int j = 0; j < BLOCK; j++) {
                float v = src[off + b * BLOCK + j] * id;
                dst[o + 2 + j] = (byte) (v < 0 ? -Math.floor(-v + 0.5f) : Math.floor(v + 0.5f)); // C roundf
            }
        }
    }

    /** Dequantizes {@code n} values from blocks starting at {@code src[off]}. */
    public static void dequantize(byte[] src, int off, int n, float[] dst, int dstOff) {
        for (int b = 0; b < n / BLOCK; b++) {
            int o = off + b * BLOCK_BYTES;
            float d = Float16.toFloat((short) ((src[o] & 0xff) | (src[o + 1] << 8)));
            for (int j = 0; j < BLOCK; j++) {
                dst[dstOff + b * BLOCK + j] = d * src[o + 2 + j];
            }
        }
    }

    public static float scale(byte[] src, int blockOff) {
        return Float16.toFloat((short) ((src[blockOff] & 0xff) | (src[blockOff + 1] << 8)));
    }
}
