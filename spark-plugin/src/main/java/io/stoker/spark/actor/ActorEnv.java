package io.stoker.spark.actor;

import io.stoker.runtime.actor.ActorContext;
import org.apache.arrow.memory.BufferAllocator;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What a pool actor learns when it is constructed inside an executor: its placement (GPUs Spark assigned), an Arrow
 * allocator for the batches it returns, and the local copies of its pool's artifacts.
 *
 * <p>Ownership: Stoker creates the allocator (a named child of the executor's root allocator) and closes it after
 * the actor has stopped (after its {@code close()} when the actor is {@link AutoCloseable}). Batches the actor
 * returns from graph steps are closed by the Spark task that consumes them.
 *
 * <p>Thread-safety: immutable; the allocator is thread-safe.
 */
public final class ActorEnv {
    private final ActorContext context;
    private final String pool;
    private final int index;
    private final String executorId;
    private final BufferAllocator allocator;
    private final Map<String, Path> artifacts;

    public ActorEnv(ActorContext context, String pool, int index, String executorId, BufferAllocator allocator,
                    Map<String, Path> artifacts) {
        this.context = context;
        this.pool = pool;
        this.index = index;
        this.executorId = executorId;
        this.allocator = allocator;
        this.artifacts = Map.copyOf(artifacts);
    }

    /** @return the runtime's context: unique actor name, GPU ids, resources, properties */
    public ActorContext context() {
        return context;
    }

    /** @return the pool this actor belongs to */
    public String pool() {
        return pool;
    }

    /** @return this actor's index in its pool, 0-based */
    public int index() {
        return index;
    }

    /** @return the Spark executor id hosting this actor ("driver" in local mode) */
    public String executorId() {
        return executorId;
    }

    /** @return the GPU addresses (as Spark assigned them) pinned to this actor; empty for a CPU actor */
    public List<String> gpuIds() {
        return context.gpuIds();
    }

    /** @return the allocator for Arrow data this actor creates; closed by Stoker after the actor */
    public BufferAllocator allocator() {
        return allocator;
    }

    /** @return the pool's properties ({@code spark.stoker.pool.<name>.property.<key>} or set in code) */
    public Map<String, String> properties() {
        return context.properties();
    }

    /**
     * @return the local path of the artifact declared under {@code alias}
     * @throws IllegalArgumentException naming the alias and the declared ones
     */
    public Path artifact(String alias) {
        Path p = artifacts.get(alias);
        if (p == null) {
            throw new IllegalArgumentException("pool '" + pool + "' declares no artifact '" + alias + "'; declared: "
                    + artifacts.keySet() + " (spark.stoker.pool." + pool + ".artifacts=alias=uri,...)");
        }
        return p;
    }

    /** @return every artifact alias and its local path */
    public Map<String, Path> artifacts() {
        return artifacts;
    }

    @Override
    public String toString() {
        return "ActorEnv[" + context.name() + ", executor " + executorId + ", gpus=" + gpuIds() + "]";
    }
}
