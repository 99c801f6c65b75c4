package io.stoker.spark.artifact;

import io.stoker.spark.metrics.StokerMetrics;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;

/**
 * The executor's local copies of remote files and directories (model weights, vocabularies), fetched through the
 * Hadoop FileSystem API (file://, hdfs://, s3a://, whatever the classpath supports).
 *
 * <p>Each URI is fetched at most once per cache: concurrent requests for one URI wait for a single download. A copy
 * is verified before use: every file's size must equal the remote length, and the SHA-256 computed while copying is
 * recorded in a manifest beside it (and must equal a {@code #sha256=<hex>} fragment when the URI carries one). A
 * copy already on disk (an earlier executor on a shared cache directory) is reused only after its sizes and
 * checksums verify against the manifest and the remote sizes; otherwise it is fetched again.
 *
 * <p>Layout: {@code <dir>/<digest of URI>-<name>} (the file or directory) and {@code ...-<name>.manifest} (lines
 * {@code <sha256> <size> <relative path>}). Downloads land in a {@code .tmp-*} sibling and are moved in atomically.
 *
 * <p>Thread-safety: all methods may be called from any thread.
 */
public final class ArtifactCache {
    private static final Logger LOG = LoggerFactory.getLogger(ArtifactCache.class);
    private static final String SHA_FRAGMENT = "sha256=";

    private final Path dir;
    private final Configuration hadoopConf;
    private final StokerMetrics metrics;
    private final ConcurrentHashMap<String, CompletableFuture<Path>> entries = new ConcurrentHashMap<>();

    /**
     * @param dir        local cache directory (created when missing)
     * @param hadoopConf Hadoop settings for the file systems (e.g. from {@code spark.hadoop.*})
     * @param metrics    counts fetches, bytes and cache hits
     */
    public ArtifactCache(Path dir, Configuration hadoopConf, StokerMetrics metrics) {
        this.dir = dir;
        this.hadoopConf = hadoopConf;
        this.metrics = metrics;
    }

    /** @return a Hadoop configuration holding every {@code spark.hadoop.*} entry of {@code sparkConf}, unprefixed */
    public static Configuration hadoopConfiguration(Map<String, String> sparkConf) {
        Configuration c = new Configuration();
        sparkConf.forEach((k, v) -> {
            if (k.startsWith("spark.hadoop.")) {
                c.set(k.substring("spark.hadoop.".length()), v);
            }
        });
        return c;
    }

    public Path directory() {
        return dir;
    }

    /**
     * Returns the local copy of {@code uri}, fetching it first unless this cache already holds a verified copy.
     * Blocks until the copy is ready; callers asking for the same URI meanwhile wait for the same download.
     *
     * @throws ArtifactException naming the URI and the cause (missing, size or checksum mismatch, I/O failure)
     */
    public Path fetch(String uri) {
        CompletableFuture<Path> mine = new CompletableFuture<>();
        CompletableFuture<Path> f = entries.putIfAbsent(uri, mine);
        if (f == null) {
            f = mine;
            try {
                mine.complete(load(uri));
            } catch (RuntimeException | Error e) {
                entries.remove(uri, mine); // a later request tries again
                mine.completeExceptionally(e);
            }
        }
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ArtifactException("interrupted while waiting for artifact " + uri, e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof ArtifactException) {
                throw new ArtifactException(c.getMessage(), c);
            }
            throw new ArtifactException("fetching artifact " + uri + " failed: " + c, c);
        }
    }

    private Path load(String uri) {
        URI full;
        try {
            full = new URI(uri);
        } catch (URISyntaxException e) {
            throw new ArtifactException("artifact URI '" + uri + "' is invalid: " + e.getMessage(), e);
        }
        String expectedSha = null;
        String frag = full.getFragment();
        if (frag != null) {
            if (!frag.startsWith(SHA_FRAGMENT)) {
                throw new ArtifactException("artifact URI '" + uri + "': the only fragment understood is #sha256=<hex>");
            }
            expectedSha = frag.substring(SHA_FRAGMENT.length()).toLowerCase(Locale.ROOT);
        }
        URI source;
        try {
            source = new URI(full.getScheme(), full.getAuthority(), full.getPath(), full.getQuery(), null);
        } catch (URISyntaxException e) {
            throw new ArtifactException("artifact URI '" + uri + "' is invalid: " + e.getMessage(), e);
        }
        try {
            Files.createDirectories(dir);
            FileSystem fs = FileSystem.get(source, hadoopConf);
            org.apache.hadoop.fs.Path remote = new org.apache.hadoop.fs.Path(source);
            if (!fs.exists(remote)) {
                throw new ArtifactException("artifact " + source + " does not exist; check the URI in the pool's"
                        + " artifacts option");
            }
            List<RemoteFile> files = list(fs, remote);
            String base = remote.getName().isEmpty() ? "root" : remote.getName();
            String entryName = digest(source.toString().getBytes(StandardCharsets.UTF_8)).substring(0, 16) + "-"
                    + base.replaceAll("[^A-Za-z0-9._-]", "_");
            Path target = dir.resolve(entryName);
            Path manifest = dir.resolve(entryName + ".manifest");
            if (verifyExisting(target, manifest, files, expectedSha)) {
                metrics.artifactCacheHit();
                LOG.info("artifact {}: verified cached copy {}", source, target);
                return target;
            }
            long t0 = System.nanoTime();
            Path tmp = dir.resolve(entryName + ".tmp-" + UUID.randomUUID());
            List<String> lines = new ArrayList<>();
            long bytes = 0;
            boolean single = files.size() == 1 && files.get(0).relative.isEmpty();
            try {
                for (RemoteFile rf : files) {
                    Path local = single ? tmp : tmp.resolve(rf.relative);
                    Files.createDirectories(local.getParent());
                    String sha = copy(fs, rf, local, source);
                    if (single && expectedSha != null && !expectedSha.equals(sha)) {
                        throw new ArtifactException("artifact " + source + " has SHA-256 " + sha + " but the URI pins "
                                + expectedSha + "; the remote file changed or the pinned checksum is wrong");
                    }
                    lines.add(sha + " " + rf.size + " " + rf.relative);
                    bytes += rf.size;
                }
                if (!single && expectedSha != null) {
                    throw new ArtifactException("artifact " + source + " is a directory; #sha256= pins single files"
                            + " only");
                }
                if (files.isEmpty()) {
                    Files.createDirectories(tmp);
                }
                deleteRecursively(target);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                Files.write(manifest, lines, StandardCharsets.UTF_8);
            } finally {
                deleteRecursively(tmp);
            }
            metrics.artifactFetched(bytes);
            LOG.info("artifact {}: fetched {} file(s), {} bytes in {} ms into {}", source, files.size(), bytes,
                    (System.nanoTime() - t0) / 1_000_000, target);
            return target;
        } catch (IOException e) {
            throw new ArtifactException("fetching artifact " + source + " failed: " + e, e);
        }
    }

    /** A file of the remote artifact: its path, its path relative to the artifact root ("" for a file), size. */
    private record RemoteFile(org.apache.hadoop.fs.Path path, String relative, long size) {
    }

    private static List<RemoteFile> list(FileSystem fs, org.apache.hadoop.fs.Path root) throws IOException {
        List<RemoteFile> out = new ArrayList<>();
        FileStatus st = fs.getFileStatus(root);
        if (st.isFile()) {
            out.add(new RemoteFile(st.getPath(), "", st.getLen()));
            return out;
        }
        String prefix = st.getPath().toUri().getPath();
        walk(fs, st.getPath(), prefix, out);
        out.sort(Comparator.comparing(RemoteFile::relative));
        return out;
    }

    private static void walk(FileSystem fs, org.apache.hadoop.fs.Path d, String prefix, List<RemoteFile> out)
            throws IOException {
        for (FileStatus s : fs.listStatus(d)) {
            if (s.isDirectory()) {
                walk(fs, s.getPath(), prefix, out);
            } else {
                String p = s.getPath().toUri().getPath();
                String rel = p.substring(prefix.length()).replaceFirst("^/+", "");
                if (rel.startsWith(".") || rel.contains("/.") || rel.endsWith(".crc")) {
                    continue; // checksum side files of the local file system, hidden files
                }
                out.add(new RemoteFile(s.getPath(), rel, s.getLen()));
            }
        }
    }

    private static String copy(FileSystem fs, RemoteFile rf, Path local, URI source) throws IOException {
        MessageDigest md = sha256();
        long n = 0;
        try (InputStream in = new DigestInputStream(fs.open(rf.path), md);
             OutputStream out = Files.newOutputStream(local)) {
            byte[] buf = new byte[1 << 16];
            int r;
            while ((r = in.read(buf)) >= 0) {
                out.write(buf, 0, r);
                n += r;
            }
        }
        if (n != rf.size) {
            throw new ArtifactException("artifact " + source + ": file '" + rf.relative + "' copied " + n
                    + " bytes but the file system reports " + rf.size + "; it changed during the copy or the read was"
                    + " cut short");
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static boolean verifyExisting(Path target, Path manifest, List<RemoteFile> remote, String expectedSha)
            throws IOException {
        if (!Files.exists(target) || !Files.exists(manifest)) {
            return false;
        }
        List<String> lines = Files.readAllLines(manifest, StandardCharsets.UTF_8);
        if (lines.size() != remote.size()) {
            return false;
        }
        boolean single = remote.size() == 1 && remote.get(0).relative.isEmpty();
        for (int i = 0; i < lines.size(); i++) {
            String[] parts = lines.get(i).split(" ", 3);
            RemoteFile rf = remote.get(i);
            String rel = parts.length == 3 ? parts[2] : "";
            if (parts.length < 2 || !rel.equals(rf.relative) || Long.parseLong(parts[1]) != rf.size) {
                return false;
            }
            Path local = single ? target : target.resolve(rel);
            if (!Files.isRegularFile(local) || Files.size(local) != rf.size) {
                return false;
            }
            String sha = fileSha(local);
            if (!sha.equals(parts[0]) || (single && expectedSha != null && !expectedSha.equals(sha))) {
                LOG.warn("cached artifact file {} fails its checksum; fetching again", local);
                return false;
            }
        }
        return true;
    }

    private static String fileSha(Path p) throws IOException {
        MessageDigest md = sha256();
        try (InputStream in = new DigestInputStream(Files.newInputStream(p), md)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String digest(byte[] b) {
        return HexFormat.of().formatHex(sha256().digest(b));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteRecursively(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(x -> {
                try {
                    Files.deleteIfExists(x);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("could not delete {}: {}", p, e.toString());
        }
    }
}
