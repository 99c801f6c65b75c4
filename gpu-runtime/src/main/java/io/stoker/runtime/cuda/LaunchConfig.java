package io.stoker.runtime.cuda;

/**
 * Grid and block shape of a kernel launch, plus its dynamic shared memory. Limits are the device's to check (the
 * launch throws a {@link CudaException} naming them).
 *
 * @param gridX       blocks in x
 * @param gridY       blocks in y
 * @param gridZ       blocks in z
 * @param blockX      threads per block in x
 * @param blockY      threads per block in y
 * @param blockZ      threads per block in z
 * @param sharedBytes dynamic shared memory per block
 */
public record LaunchConfig(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes) {

    /** A 1-D launch. */
    public static LaunchConfig of(int grid, int block) {
        return new LaunchConfig(grid, 1, 1, block, 1, 1, 0);
    }

    /** A 2-D grid of 1-D blocks. */
    public static LaunchConfig of(int gridX, int gridY, int block) {
        return new LaunchConfig(gridX, gridY, 1, block, 1, 1, 0);
    }

    /** Enough blocks of {@code block} threads to cover {@code n} elements. */
    public static LaunchConfig covering(long n, int block) {
        long grid = Math.max(1, (n + block - 1) / block);
        if (grid > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(n + " elements need more than 2^31-1 blocks of " + block);
        }
        return of((int) grid, block);
    }

    public LaunchConfig withShared(int bytes) {
        return new LaunchConfig(gridX, gridY, gridZ, blockX, blockY, blockZ, bytes);
    }
}
