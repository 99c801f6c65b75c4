package io.stoker.runtime.channel;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts a second real JVM for a cross-process test: this JVM's java, module flags, CUDA selection (so the child runs
 * on the same simulated CUDA) and class path, running {@code main} with {@code args}; stdout and stderr go to
 * {@code log}.
 */
public final class ChildJvm {
    private ChildJvm() {
    }

    public static Process start(Class<?> main, Path log, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-opens") || a.startsWith("--add-modules") || a.startsWith("-XX:+Ignore")) {
                cmd.add(a);
            }
        }
        for (String p : new String[] {"stoker.cuda", "stoker.cuda.sim.library", "stoker.cuda.sim.kernels"}) {
            if (System.getProperty(p) != null) {
                cmd.add("-D" + p + "=" + System.getProperty(p));
            }
        }
        cmd.add("-XX:TieredStopAtLevel=1"); // a short-lived child: start fast
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }
}
