package io.stoker.llm.load;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Copies a model file or directory from a Hadoop FileSystem into a local cache keyed by URI, length and
 * modification time. Loaded only when a non-local URI is used, so Hadoop stays an optional (provided) dependency.
 */
final class HadoopFetch {
    private HadoopFetch() {
    }

    static synchronized Path fetch(URI uri, Path cacheRoot) {
        try {
            FileSystem fs = FileSystem.get(uri, new Configuration());
            org.apache.hadoop.fs.Path src = new org.apache.hadoop.fs.Path(uri);
            FileStatus st = fs.getFileStatus(src);
            String key = sha(uri + "|" + st.getLen() + "|" + st.getModificationTime());
            Path dst = cacheRoot.resolve(key).resolve(src.getName());
            Path done = cacheRoot.resolve(key).resolve(".complete");
            if (Files.exists(done)) {
                return dst;
            }
            Files.createDirectories(dst.getParent());
            copy(fs, st, dst);
            Files.createFile(done);
            return dst;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot fetch model " + uri + " through Hadoop FileSystem: " + e, e);
        }
    }

    private static void copy(FileSystem fs, FileStatus st, Path dst) throws IOException {
        if (st.isDirectory()) {
            Files.createDirectories(dst);
            for (FileStatus c : fs.listStatus(st.getPath())) {
                copy(fs, c, dst.resolve(c.getPath().getName()));
            }
            return;
        }
        Path tmp = dst.resolveSibling(dst.getFileName() + ".part");
        try (InputStream in = fs.open(st.getPath())) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        Files.move(tmp, dst, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static String sha(String s) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < 12; i++) {
                b.append(String.format("%02x", d[i]));
            }
            return b.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
