package io.stoker.runtime.cuda;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The candidate paths of a CUDA library, in search order: configured directories, then the
 * {@code nvidia/*}{@code /lib} directories of Python site-packages, then the bare soname for the system loader.
 * Within each directory the sonames go in the library's order ({@code .so.13} before {@code .so.12}).
 */
public final class LibrarySearch {
    private static final Logger LOG = LoggerFactory.getLogger(LibrarySearch.class);

    private final List<Path> directories;

    /** @param directories configured directories, then site-packages library directories */
    public LibrarySearch(List<Path> directories) {
        this.directories = List.copyOf(directories);
    }

    /** The search of a real-mode configuration (runs Python once to find site-packages, when enabled). */
    public static LibrarySearch of(CudaConfig config) {
        List<Path> dirs = new ArrayList<>(config.libraryDirs());
        if (config.searchPython()) {
            for (Path sp : pythonSitePackages()) {
                dirs.addAll(nvidiaLibDirs(sp));
            }
        }
        return new LibrarySearch(dirs);
    }

    public List<Path> directories() {
        return directories;
    }

    /** @return existing files named by {@code sonames} in the directories, then the bare sonames */
    public List<String> candidates(List<String> sonames) {
        List<String> out = new ArrayList<>();
        for (Path dir : directories) {
            for (String s : sonames) {
                Path p = dir.resolve(s);
                if (Files.isRegularFile(p) || Files.isSymbolicLink(p)) {
                    out.add(p.toAbsolutePath().toString());
                }
            }
        }
        out.addAll(sonames);
        return out;
    }

    /** {@code site/nvidia/<package>/lib} directories, sorted by name. */
    public static List<Path> nvidiaLibDirs(Path sitePackages) {
        Path nvidia = sitePackages.resolve("nvidia");
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(nvidia)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(nvidia)) {
            for (Path pkg : ds) {
                Path lib = pkg.resolve("lib");
                if (Files.isDirectory(lib)) {
                    out.add(lib);
                }
            }
        } catch (IOException e) {
            LOG.debug("cannot list {}: {}", nvidia, e.toString());
        }
        out.sort(null);
        return out;
    }

    /**
     * Site-packages directories of this machine: those of {@code VIRTUAL_ENV} and {@code CONDA_PREFIX}, those the
     * first {@code python3} on the PATH reports, and the usual system and user locations that exist.
     */
    public static List<Path> pythonSitePackages() {
        Set<Path> out = new LinkedHashSet<>();
        for (String var : new String[] {"VIRTUAL_ENV", "CONDA_PREFIX"}) {
            String prefix = System.getenv(var);
            if (prefix != null && !prefix.isBlank()) {
                out.addAll(globPython(Paths.get(prefix, "lib")));
            }
        }
        out.addAll(askPython());
        out.addAll(globPython(Paths.get("/usr/local/lib")));
        out.addAll(globPython(Paths.get("/usr/lib")));
        out.addAll(globPython(Paths.get(System.getProperty("user.home", "/nonexistent"), ".local", "lib")));
        List<Path> existing = new ArrayList<>();
        for (Path p : out) {
            if (Files.isDirectory(p)) {
                existing.add(p);
            }
        }
        return existing;
    }

    private static List<Path> globPython(Path lib) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(lib)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(lib, "python3*")) {
            for (Path py : ds) {
                out.add(py.resolve("site-packages"));
                out.add(py.resolve("dist-packages"));
            }
        } catch (IOException e) {
            LOG.debug("cannot list {}: {}", lib, e.toString());
        }
        Path debian = lib.resolve("python3").resolve("dist-packages");
        out.add(debian);
        return out;
    }

    private static List<Path> askPython() {
        List<Path> out = new ArrayList<>();
        ProcessBuilder pb = new ProcessBuilder("python3", "-c",
                "import site,sys\nfor p in site.getsitepackages()+[site.getusersitepackages()]: print(p)")
                .redirectErrorStream(true);
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            byte[] bytes;
            try (InputStream in = p.getInputStream()) {
                bytes = in.readNBytes(64 * 1024);
            }
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return out;
            }
            if (p.exitValue() == 0) {
                for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
                    if (!line.isBlank()) {
                        out.add(Paths.get(line.trim()));
                    }
                }
            }
        } catch (IOException e) {
            LOG.debug("no python3 to ask for site-packages: {}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return out;
    }
}
