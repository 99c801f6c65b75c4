package io.stoker.spark.plugin;

import java.io.Serializable;

/**
 * The messages of the NCCL id exchange between executors ({@link DriverNcclIdExchange}) and the driver plugin
 * ({@link NcclIdRegistry}). Every one is sent with {@code PluginContext.ask}; the driver answers at once (it never
 * blocks an RPC thread waiting for another rank).
 */
sealed interface NcclIdMessage extends Serializable {
    /** @return the group the message is about */
    NcclGroupKey key();

    /** Rank 0 publishes the group's id; the answer is {@code Boolean.TRUE}. */
    record Publish(NcclGroupKey key, int worldSize, byte[] id, String executorId) implements NcclIdMessage {
    }

    /** Rank {@code rank} asks for the group's id; the answer is a {@link Reply}. */
    record Fetch(NcclGroupKey key, int rank, int worldSize, String executorId) implements NcclIdMessage {
    }

    /** The group closed: the driver forgets its id; the answer is {@code Boolean.TRUE}. */
    record Close(NcclGroupKey key) implements NcclIdMessage {
    }

    /**
     * The driver's answer to a {@link Fetch}.
     *
     * @param id the group's id, or null while rank 0 has not published it
     */
    record Reply(byte[] id) implements Serializable {
    }
}
