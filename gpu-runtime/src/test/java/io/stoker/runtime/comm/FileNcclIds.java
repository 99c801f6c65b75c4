package io.stoker.runtime.comm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.function.Supplier;

/**
 * An {@link NcclIdExchange} between processes of one machine through files in a private directory: rank 0 writes the
 * id to {@code <dir>/<group>.id} (written aside, then renamed, so readers never see half of it), the other ranks poll
 * for it. For the tests whose ranks are separate JVMs without Spark; executors use the driver's exchange.
 */
public final class FileNcclIds implements NcclIdExchange {
    private final Path dir;

    public FileNcclIds(Path dir) {
        this.dir = dir;
    }

    @Override
    public byte[] exchange(String group, int rank, int worldSize, Supplier<byte[]> newId, long timeoutMillis) {
        Path file = dir.resolve(group + ".id");
        try {
            if (rank == 0) {
                byte[] id = newId.get();
                Path tmp = Files.createTempFile(dir, group, ".tmp");
                Files.write(tmp, id);
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
                return id;
            }
            long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
            while (!Files.exists(file)) {
                if (System.nanoTime() > deadline) {
                    throw new CollectiveException("NCCL group '" + group + "' rank " + rank + ": no id in " + file
                            + " within " + timeoutMillis + " ms");
                }
                Thread.sleep(5);
            }
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CollectiveException("NCCL group '" + group + "' rank " + rank + ": interrupted", e);
        }
    }
}
