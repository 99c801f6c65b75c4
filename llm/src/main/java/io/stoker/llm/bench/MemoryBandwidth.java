package io.stoker.llm.bench;

import io.stoker.runtime.cuda.DeviceProperties;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The peak memory (HBM) bandwidth a decode step is measured against.
 *
 * @param bytesPerSecond     the roofline: from the driver ({@code 2 × memory clock × bus width / 8}), or the spec
 *                           sheet figure when the driver reports no clock or width
 * @param source             where {@code bytesPerSecond} comes from, in words
 * @param specBytesPerSecond the vendor's spec sheet figure for this device name, 0 when the name is not in the table
 * @param specSource         the spec sheet row used, or null
 */
public record MemoryBandwidth(double bytesPerSecond, String source, double specBytesPerSecond, String specSource) {
    /**
     * Spec sheet peak bandwidths (NVIDIA data sheets), most specific name first: a device name containing the key
     * matches.
     */
    private static final Map<String, Double> SPEC = new LinkedHashMap<>();

    static {
        SPEC.put("H200", 4.8e12);
        SPEC.put("H100 PCIE", 2.0e12);
        SPEC.put("H100 NVL", 3.9e12);
        SPEC.put("H100", 3.35e12); // H100 SXM5 80GB HBM3
        SPEC.put("A100-SXM4-80GB", 2.039e12);
        SPEC.put("A100 80GB PCIE", 1.935e12);
    }

    /** The roofline of a device from its properties. */
    public static MemoryBandwidth of(DeviceProperties p) {
        String name = p.name() == null ? "" : p.name().toUpperCase(Locale.ROOT);
        double spec = 0;
        String specSource = null;
        for (Map.Entry<String, Double> e : SPEC.entrySet()) {
            if (name.contains(e.getKey())) {
                spec = e.getValue();
                specSource = "NVIDIA data sheet for '" + e.getKey() + "': " + e.getValue() / 1e12 + " TB/s";
                break;
            }
        }
        double driver = p.peakMemoryBandwidth();
        if (driver > 0) {
            return new MemoryBandwidth(driver, String.format(Locale.ROOT, "cuDeviceGetAttribute: 2 x memory clock %d"
                    + " kHz x bus width %d bits / 8", p.memoryClockKhz(), p.memoryBusWidthBits()), spec, specSource);
        }
        if (spec > 0) {
            return new MemoryBandwidth(spec, specSource + " (the driver reports no memory clock or bus width)", spec,
                    specSource);
        }
        return new MemoryBandwidth(0, "unknown: the driver reports no memory clock or bus width and '" + p.name()
                + "' is not in the spec table", 0, null);
    }
}
