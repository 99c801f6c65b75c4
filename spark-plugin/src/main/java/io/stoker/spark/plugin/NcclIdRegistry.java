package io.stoker.spark.plugin;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.BitSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The driver's NCCL ids of groups that span executors, for one SparkContext (one driver plugin session). Rank 0 of a
 * group publishes its id ({@link #publish}); the other ranks fetch it ({@link #fetch}), which answers at once with
 * the id or null while rank 0 has not published, so no RPC thread ever waits for another rank (the executor side
 * polls, see {@link DriverNcclIdExchange}). An id is forgotten once every rank has fetched it, when its group closes
 * ({@link #forget}), and all of them when the application ends ({@link #forgetAll}, from the plugin's shutdown).
 *
 * <p>Thread-safety: all methods may be called from any thread (Spark calls {@code DriverPlugin.receive}
 * concurrently).
 */
final class NcclIdRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(NcclIdRegistry.class);

    /** One published group: its size, its id, and which ranks have taken the id. */
    private static final class Entry {
        final int worldSize;
        final byte[] id;
        final String publisher;
        final BitSet fetched = new BitSet();

        Entry(int worldSize, byte[] id, String publisher) {
            this.worldSize = worldSize;
            this.id = id;
            this.publisher = publisher;
            fetched.set(0);
        }
    }

    private final String session;
    private final ConcurrentHashMap<NcclGroupKey, Entry> groups = new ConcurrentHashMap<>();

    NcclIdRegistry(String session) {
        this.session = session;
    }

    /** Answers one message of the exchange. */
    Object receive(NcclIdMessage m) {
        if (m instanceof NcclIdMessage.Publish p) {
            publish(p.key(), p.worldSize(), p.id(), p.executorId());
            return Boolean.TRUE;
        }
        if (m instanceof NcclIdMessage.Fetch f) {
            return new NcclIdMessage.Reply(fetch(f.key(), f.rank(), f.worldSize()));
        }
        forget(m.key());
        return Boolean.TRUE;
    }

    /**
     * Keeps rank 0's id for its group. Publishing the same bytes again (a retried message) is harmless.
     *
     * @throws IllegalStateException when the group already has another id (two ranks 0, or a name reused without a
     *                               new generation)
     */
    void publish(NcclGroupKey key, int worldSize, byte[] id, String executorId) {
        checkSession(key);
        if (worldSize < 1) {
            throw new IllegalArgumentException(key + ": world size " + worldSize + " is not positive");
        }
        if (id == null || id.length == 0) {
            throw new IllegalArgumentException(key + ": rank 0 on executor " + executorId + " published an empty id");
        }
        byte[] copy = id.clone();
        Entry e = groups.computeIfAbsent(key, k -> new Entry(worldSize, copy, executorId));
        if (!Arrays.equals(e.id, copy) || e.worldSize != worldSize) {
            throw new IllegalStateException(key + ": rank 0 on executor " + executorId + " published an id for "
                    + worldSize + " ranks, but rank 0 on executor " + e.publisher + " already published another for "
                    + e.worldSize + " ranks; give each life of a group a new generation and only one rank 0");
        }
        if (worldSize == 1) {
            groups.remove(key, e);
        }
        LOG.debug("{}: rank 0 on executor {} published its id for {} ranks", key, executorId, worldSize);
    }

    /**
     * @return the group's id (a copy), or null while rank 0 has not published it
     * @throws IllegalArgumentException when the rank or world size disagrees with what rank 0 published
     */
    byte[] fetch(NcclGroupKey key, int rank, int worldSize) {
        checkSession(key);
        if (rank < 1 || rank >= worldSize) {
            throw new IllegalArgumentException(key + ": rank " + rank + " cannot fetch the id of a group of "
                    + worldSize + " ranks (ranks 1.." + (worldSize - 1) + " fetch, rank 0 publishes)");
        }
        Entry e = groups.get(key);
        if (e == null) {
            return null;
        }
        if (e.worldSize != worldSize) {
            throw new IllegalArgumentException(key + ": rank " + rank + " expects " + worldSize + " ranks, but rank 0"
                    + " (executor " + e.publisher + ") published the id for " + e.worldSize);
        }
        boolean everyone;
        synchronized (e) {
            e.fetched.set(rank);
            everyone = e.fetched.cardinality() == e.worldSize;
        }
        if (everyone) {
            groups.remove(key, e);
            LOG.debug("{}: every rank has its id; forgotten", key);
        }
        return e.id.clone();
    }

    /** Forgets the group's id (the group closed); a no-op when it is not known. */
    void forget(NcclGroupKey key) {
        checkSession(key);
        groups.remove(key);
    }

    /** Forgets every id (the application ends). */
    void forgetAll() {
        groups.clear();
    }

    /** @return how many groups' ids are kept */
    int size() {
        return groups.size();
    }

    private void checkSession(NcclGroupKey key) {
        if (!session.equals(key.session())) {
            throw new IllegalArgumentException(key + " belongs to Stoker session " + key.session()
                    + ", not to this application's (" + session + "); an executor of another SparkContext sent it");
        }
    }
}
