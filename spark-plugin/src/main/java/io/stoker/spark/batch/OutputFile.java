package io.stoker.spark.batch;

import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;

/**
 * Writes the one output file: merged parts (optionally after the file's current content) go to a temporary sibling,
 * which then replaces the file. Until the replacement the old file is untouched; the parts stay until the caller
 * deletes them, so an interruption at any point loses nothing.
 */
final class OutputFile {
    private OutputFile() {
    }

    /**
     * @param keepExisting copy the file's current content first (append)
     * @return what the merge wrote (not counting copied lines)
     */
    static PartsMerger.Result write(FileSystem fs, Path target, List<PartMeta> parts, boolean keepExisting)
            throws IOException {
        Path tmp = new Path(target.getParent(), "." + target.getName() + ".stoker-tmp-" + UUID.randomUUID());
        PartsMerger.Result r;
        try {
            try (Writer out = new BufferedWriter(new OutputStreamWriter(fs.create(tmp, false), StandardCharsets.UTF_8),
                    256 * 1024)) {
                if (keepExisting && fs.exists(target)) {
                    copy(fs, target, out);
                }
                r = PartsMerger.merge(fs, parts, out);
            }
            if (fs.exists(target) && !fs.delete(target, false)) {
                throw new IOException("cannot replace " + target);
            }
            if (!fs.rename(tmp, target)) {
                throw new IOException("cannot rename " + tmp + " to " + target);
            }
            if (fs instanceof RawLocalFileSystem) {
                // a checksum of the file's earlier content would fail Hadoop's checksummed reads of the new one
                fs.delete(new Path(target.getParent(), "." + target.getName() + ".crc"), false);
            }
        } finally {
            fs.delete(tmp, false);
        }
        return r;
    }

    private static void copy(FileSystem fs, Path from, Writer out) throws IOException {
        try (FSDataInputStream in = fs.open(from)) {
            int n;
            int lastByte = '\n';
            java.io.InputStreamReader r = new java.io.InputStreamReader(in, StandardCharsets.UTF_8);
            char[] chars = new char[64 * 1024];
            while ((n = r.read(chars)) > 0) {
                out.write(chars, 0, n);
                lastByte = chars[n - 1];
            }
            if (lastByte != '\n') {
                out.write('\n');
            }
        }
    }
}
