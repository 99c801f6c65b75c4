package io.stoker.runtime.comm;

import java.util.function.Supplier;

/**
 * Hands the NCCL unique id of a group from rank 0 to the other ranks before they call {@code ncclCommInitRank}.
 * {@link #inProcess()} serves groups whose ranks live in one JVM (actors of one executor); the Spark plugin serves
 * groups that span executors through the driver ({@code io.stoker.spark.plugin.DriverNcclIdExchange}).
 *
 * <p>Thread-safety: implementations are called concurrently, once per rank.
 */
public interface NcclIdExchange {
    /**
     * Rank 0 creates the id with {@code newId} and publishes it under {@code group}; every other rank waits for it.
     *
     * @param group         a name unique to this group for as long as it is being set up
     * @param timeoutMillis how long a rank other than 0 waits
     * @return the group's id (128 bytes)
     * @throws CollectiveException when rank 0 does not publish within the timeout
     */
    byte[] exchange(String group, int rank, int worldSize, Supplier<byte[]> newId, long timeoutMillis);

    /** @return the exchange between threads of this JVM */
    static NcclIdExchange inProcess() {
        return InProcessNcclIds.INSTANCE;
    }
}
