package io.stoker.spark.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Finds Stoker's shaded plugin jar ({@code stoker-spark-plugin-<version>-shaded.jar}), the jar a cluster needs on
 * {@code --jars}: the path in {@value #PROPERTY} or {@value #ENV} when set; else the jar this class was loaded from
 * when it is the shaded jar; else the newest shaded jar next to where this class was loaded from (the module's
 * {@code target/} for {@code target/classes} or {@code target/stoker-spark-plugin-<version>.jar}, or the
 * version's directory in a Maven repository). Stateless.
 */
final class PluginJar {
    /** System property naming the shaded plugin jar. */
    static final String PROPERTY = "stoker.submit.pluginJar";
    /** Environment variable naming the shaded plugin jar. */
    static final String ENV = "STOKER_PLUGIN_JAR";
    private static final String PREFIX = "stoker-spark-plugin-";
    private static final String SUFFIX = "-shaded.jar";

    private PluginJar() {
    }

    /**
     * @throws IllegalStateException saying where it looked and how to build or name the jar when none is found
     */
    static Path locate() {
        String named = System.getProperty(PROPERTY);
        if (named == null || named.isBlank()) {
            named = System.getenv(ENV);
        }
        if (named != null && !named.isBlank()) {
            Path p = Path.of(named).toAbsolutePath();
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException("Stoker's plugin jar " + p + " (from " + PROPERTY + " / " + ENV
                        + ") does not exist; build it with bin/stoker build");
            }
            return p;
        }
        Path from = loadedFrom();
        Path found = near(from);
        if (found == null) {
            throw new IllegalStateException("Stoker's shaded plugin jar (" + PREFIX + "<version>" + SUFFIX + ") is not"
                    + " next to " + from + "; build it with bin/stoker build (or mvn package -pl spark-plugin -am),"
                    + " set " + ENV + " to its path, or pass it yourself with --jars");
        }
        return found;
    }

    /** @return the shaded jar {@code from} is, or the newest one in its directory (its parent for a directory) */
    static Path near(Path from) {
        if (from == null) {
            return null;
        }
        String name = from.getFileName() == null ? "" : from.getFileName().toString();
        if (Files.isRegularFile(from) && isShadedJar(name)) {
            return from;
        }
        Path dir = from.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            return null;
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> jars = files.filter(p -> isShadedJar(p.getFileName().toString()) && Files.isRegularFile(p))
                    .sorted(Comparator.comparing(PluginJar::modified).reversed()).toList();
            return jars.isEmpty() ? null : jars.get(0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + " while looking for Stoker's plugin jar", e);
        }
    }

    /** @return true for a file name of Stoker's plugin jar, shaded or not, any version */
    static boolean isPluginJarName(String fileName) {
        return fileName.startsWith(PREFIX) && fileName.endsWith(".jar");
    }

    private static boolean isShadedJar(String fileName) {
        return fileName.startsWith(PREFIX) && fileName.endsWith(SUFFIX);
    }

    private static long modified(Path p) {
        try {
            return Files.getLastModifiedTime(p).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }

    private static Path loadedFrom() {
        CodeSource cs = PluginJar.class.getProtectionDomain().getCodeSource();
        if (cs == null || cs.getLocation() == null) {
            return null;
        }
        try {
            return Path.of(cs.getLocation().toURI()).toAbsolutePath();
        } catch (URISyntaxException | IllegalArgumentException e) {
            return null;
        }
    }
}
