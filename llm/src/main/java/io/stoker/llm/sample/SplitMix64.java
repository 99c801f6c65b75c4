package io.stoker.llm.sample;

/**
 * Counter-based uniform draws: draw {@code k} of stream {@code seed} is the {@code k+1}-th output of SplitMix64
 * started at {@code seed}, the generator behind {@link java.util.SplittableRandom}:
 *
 * <pre>
 *   z = seed + (k + 1) * 0x9e3779b97f4a7c15
 *   z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9
 *   z = (z ^ (z >>> 27)) * 0x94d049bb133111eb
 *   z =  z ^ (z >>> 31)
 *   u = (z >>> 11) * 2^-53                      in [0, 1)
 * </pre>
 *
 * A draw needs no state but {@code (seed, k)}, so a device kernel computes it per row, and a recomputed request
 * draws the same numbers.
 */
public final class SplitMix64 {
    static final long GAMMA = 0x9e3779b97f4a7c15L;

    private SplitMix64() {
    }

    public static long mix(long seed, long k) {
        long z = seed + (k + 1) * GAMMA;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** @return draw {@code k} of stream {@code seed}, uniform in {@code [0, 1)} */
    public static double uniform(long seed, long k) {
        return (mix(seed, k) >>> 11) * 0x1.0p-53;
    }
}
