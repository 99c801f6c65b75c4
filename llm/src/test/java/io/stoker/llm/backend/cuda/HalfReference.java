package io.stoker.llm.backend.cuda;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Independent f16/bf16 reference: values decoded from their fields with plain arithmetic, rounding found by searching
 * the ordered table of representable values for the nearest one (ties to the even bit pattern), overflow past the
 * midpoint above the largest finite value going to infinity.
 */
final class HalfReference {
    private HalfReference() {
    }

    static float decode(short bits, boolean bf16) {
        int h = bits & 0xffff;
        if (bf16) {
            return Float.intBitsToFloat(h << 16);
        }
        int sign = h >>> 15;
        int exp = (h >>> 10) & 0x1f;
        int man = h & 0x3ff;
        double v;
        if (exp == 0x1f) {
            v = man == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else if (exp == 0) {
            v = man * Math.pow(2, -24);
        } else {
            v = (1 + man / 1024.0) * Math.pow(2, exp - 15);
        }
        return (float) (sign == 1 ? -v : v);
    }

    /** Value of a non-negative pattern, with the infinity pattern standing for the next power of two. */
    private static double magnitude(int pattern, boolean bf16) {
        int inf = bf16 ? 0x7f80 : 0x7c00;
        if (pattern == inf) {
            return bf16 ? Math.pow(2, 128) : 65536.0;
        }
        return decode((short) pattern, bf16);
    }

    static short nearest(float x, boolean bf16) {
        if (Float.isNaN(x)) {
            throw new IllegalArgumentException("NaN has no nearest value");
        }
        int sign = (Float.floatToRawIntBits(x) >>> 31) == 1 ? 0x8000 : 0;
        double a = Math.abs((double) x);
        int inf = bf16 ? 0x7f80 : 0x7c00;
        if (Double.isInfinite(a)) {
            return (short) (sign | inf);
        }
        int lo = 0;
        int hi = inf;
        while (lo < hi) { // largest pattern with magnitude <= a
            int mid = (lo + hi + 1) >>> 1;
            if (magnitude(mid, bf16) <= a) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        int best = lo;
        if (lo < inf) {
            double below = a - magnitude(lo, bf16);
            double above = magnitude(lo + 1, bf16) - a;
            if (above < below || (above == below && ((lo + 1) & 1) == 0)) {
                best = lo + 1;
            }
        }
        return (short) (sign | best);
    }

    /** Signed zeros, infinities, NaN, extremes, subnormals, exact ties of both formats, and random values. */
    static float[] edgeCases() {
        List<Float> v = new ArrayList<>(List.of(0f, -0f, 1f, -1f, 65504f, 65505f, 65519.99f, 65520f, -65520f, 1e5f,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.MAX_VALUE, -Float.MAX_VALUE,
                Float.MIN_VALUE, Float.MIN_NORMAL, (float) Math.pow(2, -24), (float) Math.pow(2, -25),
                (float) (3 * Math.pow(2, -26)), (float) Math.pow(2, -14), (float) (Math.pow(2, -14) - Math.pow(2, -25)),
                (float) (1 + Math.pow(2, -8)), (float) (1 + 3 * Math.pow(2, -8)), (float) (1 + Math.pow(2, -11)),
                (float) (1 + 3 * Math.pow(2, -11)), 3.3895314e38f, 3.39e38f, 1e-40f, 0.1f, 1.0f / 3));
        Random r = new Random(99);
        for (double scale : new double[] {1e-8, 1e-6, 1e-3, 1, 100, 3e4, 1e30}) {
            for (int i = 0; i < 30; i++) {
                v.add((float) (r.nextGaussian() * scale));
            }
        }
        float[] out = new float[v.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = v.get(i);
        }
        return out;
    }
}
