package io.stoker.runtime.graph;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Where the two halves of a {@link RemoteEdge} meet: the receiving end writes the paths of its two ring files to
 * {@code <dir>/stoker-edge-<name>-<writer pid>-<reader pid>.edge} (mode 0600, written whole by an atomic rename); the
 * sending end waits for that file and opens the rings it names. Both processes derive the name from the edge's name
 * and the two process ids, so distinct process pairs never collide.
 */
final class EdgeRendezvous {
    private EdgeRendezvous() {
    }

    static Path file(RemoteEdge e, long writerPid, long readerPid) {
        return e.directory().resolve("stoker-edge-" + e.name() + "-" + writerPid + "-" + readerPid + ".edge");
    }

    /** Receiving end: publishes the ring files. */
    static void publish(Path file, String edge, Path filled, Path free) {
        if (Files.exists(file)) {
            throw new IllegalStateException("cross-process edge '" + edge + "': " + file + " already exists: another"
                    + " receiving end of this edge from the same sending process is open in this process; give each"
                    + " edge its own name, or close the other graph first");
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, filled + "\n" + free + "\n");
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cross-process edge '" + edge + "': cannot write " + file, e);
        }
    }

    /**
     * Sending end: waits (on the calling thread) for the receiving end's file.
     *
     * @return the filled and free ring files, or null when none appeared before the deadline
     * @throws IllegalStateException when the receiving process is gone
     */
    static Path[] await(Path file, String edge, PeerProcess reader, long deadlineNanos) throws InterruptedException {
        while (true) {
            if (Files.exists(file)) {
                try {
                    List<String> lines = Files.readAllLines(file);
                    if (lines.size() == 2) {
                        return new Path[] {Path.of(lines.get(0)), Path.of(lines.get(1))};
                    }
                    throw new IllegalStateException("cross-process edge '" + edge + "': " + file + " holds "
                            + lines.size() + " lines, not the 2 ring paths; do both processes run the same Stoker?");
                } catch (java.nio.file.NoSuchFileException gone) {
                    // removed between the check and the read: the receiving graph closed; wait for a new one
                } catch (IOException e) {
                    throw new UncheckedIOException("cross-process edge '" + edge + "': cannot read " + file, e);
                }
            }
            if (reader.isGone()) {
                throw new IllegalStateException("cross-process edge '" + edge + "': the receiving process "
                        + reader.pid() + " is gone");
            }
            if (System.nanoTime() > deadlineNanos) {
                return null;
            }
            TimeUnit.MILLISECONDS.sleep(5);
        }
    }
}
