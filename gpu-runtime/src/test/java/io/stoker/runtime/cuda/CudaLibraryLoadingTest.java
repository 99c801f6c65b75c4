package io.stoker.runtime.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How libraries fail to load, and that a JVM without a GPU never loads the shim. */
@Timeout(120)
class CudaLibraryLoadingTest {

    @Test
    void shouldNameEveryPathTriedWhenALibraryIsMissing() {
        assertThatThrownBy(() -> Cuda.probe(CudaLibrary.NCCL, List.of("/nonexistent/libnccl.so.2", "libnccl-none.so.2")))
                .isInstanceOf(CudaLibraryException.class).hasMessageContaining("NCCL library not found")
                .hasMessageContaining("/nonexistent/libnccl.so.2").hasMessageContaining("libnccl-none.so.2");
    }

    @Test
    void shouldNameAMissingSymbol() {
        // libc loads but is not a CUDA driver: the first required symbol is missing
        assertThatThrownBy(() -> Cuda.probe(CudaLibrary.DRIVER, List.of("libc.so.6")))
                .isInstanceOf(CudaLibraryException.class).hasMessageContaining("symbol cuGetErrorName not found")
                .hasMessageContaining("libc.so.6");
    }

    @Test
    void shouldBindEverySymbolTheShimNeedsFromTheSimulator() {
        CudaTestSupport.assumeSimulator();
        String sim = Cuda.config().simLibrary().toAbsolutePath().toString();
        for (CudaLibrary lib : CudaLibrary.values()) {
            assertThat(Cuda.probe(lib, List.of(sim))).as(lib.title()).isEqualTo(sim);
        }
    }

    /**
     * A child JVM creates a runtime with GPU ids and a GPU actor that never asks for CUDA, then checks CUDA in real
     * mode on this machine (which has no driver). Nothing of io.stoker.runtime.cuda may load before that check, and
     * the check must answer "not available" without throwing.
     */
    @Test
    void shouldNeverLoadCudaClassesWhenNoGpuIsUsed() throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xlog:class+load=info");
        cmd.add("-Dstoker.cuda=real");
        cmd.add("-Dstoker.cuda.libraryPath=/nonexistent");
        cmd.add("-Dstoker.cuda.searchPython=false");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(NoGpuMain.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            in.transferTo(buf);
            out = buf.toString(StandardCharsets.UTF_8);
        }
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        int marker = out.indexOf(NoGpuMain.MARKER);
        assertThat(marker).as(out).isPositive();
        String before = out.substring(0, marker);
        List<String> cudaClasses = before.lines()
                .filter(l -> (l.contains("io.stoker.runtime.cuda.") || l.contains("GpuChannels")
                        || l.contains("PeerCopyChannel") || l.contains(".Nccl")) && !l.contains("CudaLibraryLoadingTest"))
                .toList();
        assertThat(cudaClasses).as("CUDA classes loaded while no GPU was used").isEmpty();
        assertThat(before).contains("io.stoker.runtime.StokerRuntime ");
        assertThat(out).contains("cuda available: false");
    }

    /** The child of {@link #shouldNeverLoadCudaClassesWhenNoGpuIsUsed}. */
    public static final class NoGpuMain {
        static final String MARKER = "=== runtime done ===";

        public static void main(String[] args) throws IOException {
            try (io.stoker.runtime.StokerRuntime rt = io.stoker.runtime.StokerRuntime.create(
                    io.stoker.runtime.RuntimeConfig.defaults().withGpuIds(List.of("0")))) {
                var h = rt.createActor(io.stoker.runtime.actor.ActorSpec.ofSupplier("worker", StringBuilder::new)
                        .withGpus(1));
                h.call(sb -> sb.append("x").length()).join();
                // a compiled graph without tensor transports loads none of the GPU channel placement
                io.stoker.runtime.graph.GraphBuilder g = io.stoker.runtime.graph.GraphBuilder.on(rt, "plain");
                io.stoker.runtime.graph.InputNode<String> in = g.input();
                try (io.stoker.runtime.graph.CompiledGraph<String, Integer> cg = g.compile(
                        g.bind(h, (StringBuilder sb, String x) -> sb.append(x).length(), in))) {
                    cg.execute("y").get();
                }
            }
            System.out.println(MARKER);
            System.out.flush();
            System.out.println("cuda available: " + Cuda.isAvailable());
            Files.deleteIfExists(Path.of("/nonexistent-never"));
        }
    }
}
