package io.stoker.spark;

import io.stoker.spark.plugin.StokerDriverPlugin;
import io.stoker.spark.plugin.StokerExecutorPlugin;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.SparkPlugin;

/**
 * Stoker's entry point for Spark: {@code spark.plugins=io.stoker.spark.StokerSparkPlugin}. Only delegates: the
 * driver part validates {@code spark.stoker.*} and collects executor reports; the executor part hosts the runtime.
 */
public final class StokerSparkPlugin implements SparkPlugin {
    @Override
    public DriverPlugin driverPlugin() {
        return new StokerDriverPlugin();
    }

    @Override
    public ExecutorPlugin executorPlugin() {
        return new StokerExecutorPlugin();
    }
}
