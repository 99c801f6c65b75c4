package io.stoker.runtime.cuda;

/**
 * What a device offers, as the driver reports it.
 *
 * @param ordinal                 device ordinal
 * @param name                    e.g. "NVIDIA H200"
 * @param computeMajor            compute capability, major (9 for Hopper)
 * @param computeMinor            compute capability, minor
 * @param totalMemory             bytes of device memory
 * @param multiprocessors         SM count
 * @param maxThreadsPerBlock      threads per block
 * @param maxSharedPerBlock       shared memory per block without opt-in, bytes
 * @param maxSharedPerBlockOptin  shared memory per block with opt-in (MAX_DYNAMIC_SHARED_SIZE_BYTES), bytes
 * @param warpSize                threads per warp
 * @param maxGridX                blocks in x
 * @param maxGridY                blocks in y
 * @param maxGridZ                blocks in z
 * @param memoryClockKhz          peak memory clock, kHz ({@code CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE}), 0 if unknown
 * @param memoryBusWidthBits      global memory bus width, bits ({@code CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH}), 0
 *                                if unknown
 */
public record DeviceProperties(int ordinal, String name, int computeMajor, int computeMinor, long totalMemory,
                               int multiprocessors, int maxThreadsPerBlock, int maxSharedPerBlock,
                               int maxSharedPerBlockOptin, int warpSize, int maxGridX, int maxGridY, int maxGridZ,
                               int memoryClockKhz, int memoryBusWidthBits) {

    static DeviceProperties query(int ordinal) {
        int dev = CudaNative.deviceGet(ordinal);
        return new DeviceProperties(ordinal, CudaNative.deviceName(dev), attr(75, dev), attr(76, dev),
                CudaNative.deviceTotalMem(dev), attr(16, dev), attr(1, dev), attr(8, dev), attr(97, dev),
                attr(10, dev), attr(5, dev), attr(6, dev), attr(7, dev), optionalAttr(36, dev),
                optionalAttr(37, dev));
    }

    private static int attr(int a, int dev) {
        return CudaNative.deviceAttribute(a, dev);
    }

    /** An attribute a driver may have dropped (the memory clock and bus width are deprecated in CUDA 13): 0 then. */
    private static int optionalAttr(int a, int dev) {
        try {
            return CudaNative.deviceAttribute(a, dev);
        } catch (CudaException e) {
            return 0;
        }
    }

    /** @return the architecture number NVRTC takes, e.g. 90 for {@code sm_90} */
    public int arch() {
        return computeMajor * 10 + computeMinor;
    }

    /**
     * @return the theoretical peak memory bandwidth in bytes per second, {@code 2 × memory clock × bus width / 8}
     * (double data rate, as NVIDIA's deviceQuery computes it), or 0 when the driver reports no clock or width
     */
    public double peakMemoryBandwidth() {
        return 2.0 * memoryClockKhz * 1000.0 * memoryBusWidthBits / 8.0;
    }
}
