package io.stoker.runtime.actor;

import java.util.List;
import java.util.Map;

/**
 * What an actor learns about its placement when it is constructed, on its own thread.
 *
 * @param name       the actor's unique name within its runtime
 * @param gpuIds     device ids assigned to this actor (empty for a CPU actor), as the host gave them
 * @param resources  what the actor asked for
 * @param properties free-form settings from the actor spec (e.g. a model path)
 */
public record ActorContext(String name, List<String> gpuIds, Resources resources, Map<String, String> properties) {
    public ActorContext {
        gpuIds = List.copyOf(gpuIds);
        properties = Map.copyOf(properties);
    }

    /** @return true when this actor was given at least one GPU */
    public boolean hasGpu() {
        return !gpuIds.isEmpty();
    }
}
