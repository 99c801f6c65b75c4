package io.stoker.runtime.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Configuration, the library search order and device addresses: plain Java, no native code. */
class CudaConfigTest {

    @Test
    void shouldDefaultToRealCudaWithThePythonSearch() {
        CudaConfig c = CudaConfig.from(Map.of(), Map.of());
        assertThat(c.mode()).isEqualTo(CudaConfig.Mode.REAL);
        assertThat(c.searchPython()).isTrue();
        assertThat(c.libraryDirs()).isEmpty();
    }

    @Test
    void shouldPreferSystemPropertiesOverTheEnvironment() {
        CudaConfig c = CudaConfig.from(
                Map.of("stoker.cuda", "sim", "stoker.cuda.sim.library", "/p/libsim.so",
                        "stoker.cuda.sim.option.devices", "3"),
                Map.of("STOKER_CUDA", "real", "STOKER_CUDA_SIM_KERNELS", "/k/a.so:/k/b.so",
                        "STOKER_CUDA_LIBRARY_PATH", "/opt/cuda/lib:/usr/local/cuda/lib64"));
        assertThat(c.mode()).isEqualTo(CudaConfig.Mode.SIM);
        assertThat(c.simLibrary()).isEqualTo(Paths.get("/p/libsim.so"));
        assertThat(c.simKernelLibraries()).containsExactly(Paths.get("/k/a.so"), Paths.get("/k/b.so"));
        assertThat(c.libraryDirs()).containsExactly(Paths.get("/opt/cuda/lib"), Paths.get("/usr/local/cuda/lib64"));
        assertThat(c.simOptions()).containsEntry("devices", "3");
    }

    @Test
    void shouldNameBadSettings() {
        assertThatThrownBy(() -> CudaConfig.from(Map.of("stoker.cuda", "gpu"), Map.of()))
                .hasMessageContaining("stoker.cuda=gpu must be 'real' or 'sim'");
        assertThatThrownBy(() -> CudaConfig.from(Map.of("stoker.cuda", "sim"), Map.of()))
                .hasMessageContaining("stoker.cuda.sim.library");
        assertThatThrownBy(() -> CudaConfig.from(Map.of("stoker.cuda.searchPython", "yes"), Map.of()))
                .hasMessageContaining("stoker.cuda.searchPython=yes");
    }

    @Test
    void shouldSearchConfiguredDirectoriesThenSitePackagesThenTheSystem(@TempDir Path tmp) throws IOException {
        Path configured = Files.createDirectories(tmp.resolve("configured"));
        Path site = tmp.resolve("site-packages");
        Path cu13 = Files.createDirectories(site.resolve("nvidia/cu13/lib"));
        Path cublas = Files.createDirectories(site.resolve("nvidia/cublas/lib"));
        Files.createDirectories(site.resolve("nvidia/empty"));
        Files.createFile(configured.resolve("libcublas.so.12"));
        Files.createFile(cu13.resolve("libcublas.so.13"));
        Files.createFile(cublas.resolve("libcublas.so.12"));
        Files.createFile(cublas.resolve("libcublas.so.13"));
        List<Path> libDirs = LibrarySearch.nvidiaLibDirs(site);
        assertThat(libDirs).containsExactly(cu13, cublas);
        LibrarySearch search = new LibrarySearch(List.of(configured, cu13, cublas));
        assertThat(search.candidates(CudaLibrary.CUBLAS.sonames())).containsExactly(
                configured.resolve("libcublas.so.12").toString(),
                cu13.resolve("libcublas.so.13").toString(),
                cublas.resolve("libcublas.so.13").toString(),
                cublas.resolve("libcublas.so.12").toString(),
                "libcublas.so.13", "libcublas.so.12");
    }

    @Test
    void shouldMapGpuAddressesToDeviceOrdinals() {
        assertThat(CudaDevice.ordinalOf("0", null)).isZero();
        assertThat(CudaDevice.ordinalOf("3", "")).isEqualTo(3);
        assertThat(CudaDevice.ordinalOf("3", "2,3")).isEqualTo(1);
        assertThat(CudaDevice.ordinalOf("5", "2,3")).isEqualTo(5);
        assertThatThrownBy(() -> CudaDevice.ordinalOf("GPU-1234", null))
                .hasMessageContaining("'GPU-1234' is not a device index");
    }
}
