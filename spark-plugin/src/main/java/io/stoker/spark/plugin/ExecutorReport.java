package io.stoker.spark.plugin;

import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * One executor's Stoker state as the driver sees it: where its actors run and its metric values. Sent by the
 * executor plugin after init and after tasks that used Stoker; {@code Stoker.executorReports} returns the latest
 * per executor.
 *
 * @param appId         application id
 * @param executorId    Spark executor id ("driver" in local mode)
 * @param host          executor host
 * @param pid           executor JVM process id
 * @param gpuAddresses  GPU addresses Spark assigned the executor
 * @param actorGpus     each live pool actor's name and its GPU addresses
 * @param pools         each started pool's name and actor count
 * @param poolActorInits each pool's name and how many actors it has constructed (including replacements)
 * @param metrics       metric values by name ({@code io.stoker.spark.metrics.StokerMetrics} names)
 * @param timestampMillis when the snapshot was taken
 * @param sequence      increases with every report of this executor (orders reports that race)
 */
public record ExecutorReport(String appId, String executorId, String host, long pid, List<String> gpuAddresses,
                             Map<String, List<String>> actorGpus, Map<String, Integer> pools,
                             Map<String, Long> poolActorInits,                             Map<String, Long> metrics, long timestampMillis,
                             long sequence) implements Serializable {
    public ExecutorReport {
        gpuAddresses = List.copyOf(gpuAddresses);
        actorGpus = Map.copyOf(actorGpus);
        pools = Map.copyOf(pools);
        poolActorInits = Map.copyOf(poolActorInits);
        metrics = Map.copyOf(metrics);
    }

    /** @return the metric's value, 0 when absent */
    public long metric(String name) {
        Long v = metrics.get(name);
        return v == null ? 0 : v;
    }
}
