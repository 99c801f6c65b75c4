package io.stoker.spark.testing;

import io.stoker.spark.StokerSparkPlugin;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Path;
import java.util.Map;

/** Local-mode sessions for tests: loopback, no UI, warehouse under target/, Stoker's plugin on. */
public final class LocalSpark {
    private LocalSpark() {
    }

    public static SparkSession start(String appName, Map<String, String> conf) {
        SparkSession.Builder b = SparkSession.builder()
                .master("local[2]")
                .appName(appName)
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "4")
                .config("spark.sql.warehouse.dir", Path.of("target", "spark-warehouse").toAbsolutePath().toString())
                .config("spark.plugins", StokerSparkPlugin.class.getName());
        conf.forEach(b::config);
        return b.getOrCreate();
    }
}
