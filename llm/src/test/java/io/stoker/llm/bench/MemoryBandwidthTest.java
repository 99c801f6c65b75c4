package io.stoker.llm.bench;

import io.stoker.runtime.cuda.DeviceProperties;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The roofline: the driver's memory clock and bus width first, the spec sheet by device name otherwise. */
class MemoryBandwidthTest {
    private static DeviceProperties device(String name, int clockKhz, int widthBits) {
        return new DeviceProperties(0, name, 9, 0, 80L << 30, 132, 1024, 48 << 10, 227 << 10, 32, Integer.MAX_VALUE,
                65535, 65535, clockKhz, widthBits);
    }

    @Test
    void shouldComputeThePeakFromTheDriversMemoryClockAndBusWidth() {
        // an H100 SXM reports 2619 MHz and 5120 bits: 2 x 2.619e9 x 640 B = 3.352 TB/s, its data sheet's 3.35
        MemoryBandwidth b = MemoryBandwidth.of(device("NVIDIA H100 80GB HBM3", 2619000, 5120));
        assertThat(b.bytesPerSecond()).isEqualTo(2 * 2.619e9 * 640);
        assertThat(b.source()).contains("cuDeviceGetAttribute").contains("2619000 kHz").contains("5120 bits");
        assertThat(b.specBytesPerSecond()).isEqualTo(3.35e12);
    }

    @Test
    void shouldFallBackToTheSpecSheetByNameWhenTheDriverReportsNoClock() {
        assertThat(MemoryBandwidth.of(device("NVIDIA H200", 0, 0)).bytesPerSecond()).isEqualTo(4.8e12);
        assertThat(MemoryBandwidth.of(device("NVIDIA H100 PCIe", 0, 0)).bytesPerSecond()).isEqualTo(2.0e12);
        assertThat(MemoryBandwidth.of(device("NVIDIA H100 NVL", 0, 0)).bytesPerSecond()).isEqualTo(3.9e12);
        MemoryBandwidth h100 = MemoryBandwidth.of(device("NVIDIA H100 80GB HBM3", 0, 5120));
        assertThat(h100.bytesPerSecond()).isEqualTo(3.35e12);
        assertThat(h100.source()).contains("data sheet").contains("no memory clock");
    }

    @Test
    void shouldSayWhenThePeakIsUnknown() {
        MemoryBandwidth b = MemoryBandwidth.of(device("Some Future GPU", 0, 0));
        assertThat(b.bytesPerSecond()).isZero();
        assertThat(b.source()).contains("unknown").contains("Some Future GPU");
    }
}
