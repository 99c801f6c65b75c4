package io.stoker.runtime.cuda;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.ClassNameFilter;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TagFilter;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The test half of {@code bin/stoker gpu-check}: on a machine with a GPU and {@code stoker.cuda=real}, runs every
 * {@code @Tag("gpu")} test class named {@code *GpuTest} on the classpath and prints one JSON object (device,
 * libraries, counts, failures, skips). Exit code 0 when all passed, 1 when one failed, 3 when no GPU is usable.
 *
 * <p>{@code --classes REGEX} runs the (untagged) test classes matching REGEX on whatever CUDA is configured instead;
 * {@code bin/stoker gpu-check --self-test} uses it to try the bundle on the simulator.
 */
public final class GpuCheckMain {
    private GpuCheckMain() {
    }

    public static void main(String[] args) {
        StringBuilder json = new StringBuilder("{");
        boolean gpu = !Cuda.isSimulated() && Cuda.isAvailable();
        if (gpu) {
            DeviceProperties p = Cuda.properties(0);
            json.append("\"device\":{\"name\":").append(quote(p.name())).append(",\"sm\":").append(p.arch())
                    .append(",\"memory_bytes\":").append(p.totalMemory()).append(",\"multiprocessors\":")
                    .append(p.multiprocessors()).append(",\"driver\":").append(Cuda.driverVersion()).append("},");
        } else {
            json.append("\"device\":null,\"reason\":").append(quote(Cuda.isSimulated()
                    ? "stoker.cuda=sim: gpu-check needs real CUDA" : "no CUDA driver or device on this machine"))
                    .append(',');
        }
        long t0 = System.nanoTime();
        String classes = args.length == 2 && args[0].equals("--classes") ? args[1] : null;
        LauncherDiscoveryRequestBuilder builder = LauncherDiscoveryRequestBuilder.request()
                .selectors(DiscoverySelectors.selectPackage("io.stoker"));
        if (classes == null) {
            builder.filters(ClassNameFilter.includeClassNamePatterns(".*GpuTest"), TagFilter.includeTags("gpu"));
        } else {
            builder.filters(ClassNameFilter.includeClassNamePatterns(classes), TagFilter.excludeTags("gpu"));
        }
        LauncherDiscoveryRequest request = builder.build();
        Results results = new Results();
        Launcher launcher = LauncherFactory.create();
        launcher.execute(request, results);
        if (gpu) {
            json.append("\"libraries\":{");
            boolean first = true;
            for (Map.Entry<String, String> e : Cuda.loadedLibraries().entrySet()) {
                json.append(first ? "" : ",").append(quote(e.getKey())).append(':').append(quote(e.getValue()));
                first = false;
            }
            json.append("},");
        }
        json.append("\"tests\":{\"passed\":").append(results.passed).append(",\"failed\":").append(results.failed.size())
                .append(",\"skipped\":").append(results.skipped.size()).append(",\"seconds\":")
                .append(String.format(java.util.Locale.ROOT, "%.1f", (System.nanoTime() - t0) / 1e9)).append("},");
        json.append("\"failures\":").append(list(results.failed)).append(",\"skips\":").append(list(results.skipped))
                .append('}');
        System.out.println(json);
        System.out.flush();
        int code = !results.failed.isEmpty() ? 1 : ((!gpu && classes == null) || results.passed == 0 ? 3 : 0);
        System.exit(code);
    }

    private static String list(List<String[]> items) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < items.size(); i++) {
            b.append(i == 0 ? "" : ",").append("{\"test\":").append(quote(items.get(i)[0])).append(",\"message\":")
                    .append(quote(items.get(i)[1])).append('}');
        }
        return b.append(']').toString();
    }

    static String quote(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    /** Counts test methods (not containers) by outcome. */
    private static final class Results implements TestExecutionListener {
        int passed;
        final List<String[]> failed = new ArrayList<>();
        final List<String[]> skipped = new ArrayList<>();

        @Override
        public void executionSkipped(TestIdentifier id, String reason) {
            skipped.add(new String[] {id.getLegacyReportingName() + " " + id.getUniqueId(), reason});
        }

        @Override
        public void executionFinished(TestIdentifier id, TestExecutionResult r) {
            String name = id.getUniqueId();
            String message = r.getThrowable().map(t -> t.getClass().getName() + ": " + t.getMessage()).orElse("");
            switch (r.getStatus()) {
                case SUCCESSFUL -> {
                    if (id.isTest()) {
                        passed++;
                    }
                }
                case ABORTED -> skipped.add(new String[] {name, message});
                case FAILED -> failed.add(new String[] {name, message});
                default -> { }
            }
        }
    }
}
