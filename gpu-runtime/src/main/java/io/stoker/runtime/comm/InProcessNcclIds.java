package io.stoker.runtime.comm;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/** {@link NcclIdExchange} between threads of one JVM: a future per group, dropped once every rank has its id. */
final class InProcessNcclIds implements NcclIdExchange {
    static final InProcessNcclIds INSTANCE = new InProcessNcclIds();

    private record Entry(CompletableFuture<byte[]> id, AtomicInteger taken) {
    }

    private final ConcurrentHashMap<String, Entry> groups = new ConcurrentHashMap<>();

    private InProcessNcclIds() {
    }

    @Override
    public byte[] exchange(String group, int rank, int worldSize, Supplier<byte[]> newId, long timeoutMillis) {
        Entry e = groups.computeIfAbsent(group, g -> new Entry(new CompletableFuture<>(), new AtomicInteger()));
        try {
            if (rank == 0) {
                e.id().complete(newId.get());
            }
            return e.id().get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException ex) {
            throw new CollectiveException("NCCL group '" + group + "' rank " + rank + ": rank 0 did not publish the"
                    + " group's id within " + timeoutMillis + " ms; every rank must join");
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new CollectiveException("NCCL group '" + group + "' rank " + rank + ": interrupted while waiting for"
                    + " rank 0's id", ex);
        } catch (ExecutionException ex) {
            throw new CollectiveException("NCCL group '" + group + "': rank 0 could not create the id: "
                    + ex.getCause(), ex.getCause());
        } catch (RuntimeException ex) {
            e.id().completeExceptionally(ex);
            throw ex;
        } finally {
            if (e.taken().incrementAndGet() == worldSize) {
                groups.remove(group, e);
            }
        }
    }
}
