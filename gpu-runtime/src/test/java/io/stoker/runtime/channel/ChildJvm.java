package io.stoker.runtime.channel;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts a second real JVM for a cross-process test or check: this JVM's java, module flags, {@code stoker.*}
 * properties (the CUDA selection, so the child runs on the same simulated or real CUDA) and class path, running {@code main} with {@code args}; stdout and stderr go to
 * {@code log}.
 */
public final class ChildJvm {
    private ChildJvm() {
    }

    /** Starts a short-lived child: C1 only, for a fast start. */
    public static Process start(Class<?> main, Path log, String... args) throws IOException {
        return start(main, log, true, args);
    }

    /**
     * @param quickStart true: C1 only (a short-lived child starts faster); false: the full JIT, for a child whose
     *                   speed is measured
     */
    public static Process start(Class<?> main, Path log, boolean quickStart, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-opens") || a.startsWith("--add-modules") || a.startsWith("-XX:+Ignore")) {
                cmd.add(a);
            }
        }
        for (String name : System.getProperties().stringPropertyNames()) {
            if (name.startsWith("stoker.") || name.equals("java.io.tmpdir")) { // the CUDA selection, the launcher's
                cmd.add("-D" + name + "=" + System.getProperty(name));     // temporary directory
            }
        }
        if (quickStart) {
            cmd.add("-XX:TieredStopAtLevel=1");
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }
}
