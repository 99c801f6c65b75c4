package io.stoker.it.submitapp;

import org.apache.spark.SparkContext;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;

import java.util.Map;

/** A user's own Spark plugin, listed in spark.plugins by the user: its driver part prints {@link #LINE}. */
public final class ProbePlugin implements SparkPlugin {
    public static final String LINE = "probe-plugin: driver init";

    @Override
    public DriverPlugin driverPlugin() {
        return new DriverPlugin() {
            @Override
            public Map<String, String> init(SparkContext sc, PluginContext ctx) {
                System.out.println(LINE + " spark.plugins=[" + sc.conf().get("spark.plugins", "") + "]");
                return Map.of();
            }
        };
    }

    @Override
    public ExecutorPlugin executorPlugin() {
        return null;
    }
}
