package io.stoker.runtime.graph;

/**
 * One process's end of a cross-process edge ({@link RemoteEdge}), set up at compile on its actor's thread and
 * released there when the graph is removed ({@link GraphProgram#onRemoved}).
 */
interface RemoteEnd {
    /** Frees what this end holds (device buffers, mappings, ring files). Actor thread; idempotent. */
    void release();
}
