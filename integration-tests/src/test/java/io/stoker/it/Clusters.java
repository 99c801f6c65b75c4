package io.stoker.it;

import io.stoker.spark.StokerSparkPlugin;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Spark sessions for the integration tests. {@code local-cluster[2,1,1024]} starts a master, two workers and two
 * executor JVMs from the Maven classpath: surefire sets SPARK_HOME to a fake home with an empty {@code jars/} and
 * SPARK_SCALA_VERSION=2.13; executors get this JVM's classpath as {@code spark.executor.extraClassPath}.
 */
final class Clusters {
    static final String LOCAL_CLUSTER = "local-cluster[2,1,1024]";

    private Clusters() {
    }

    /** Creates the fake SPARK_HOME the surefire environment points at. */
    static Path fakeSparkHome() {
        Path home = Path.of(System.getProperty("stoker.it.sparkHome", "target/fake-spark-home"));
        try {
            Files.createDirectories(home.resolve("jars"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return home;
    }

    static SparkSession start(String master, String appName, Map<String, String> conf) {
        fakeSparkHome();
        SparkSession.Builder b = SparkSession.builder()
                .master(master)
                .appName(appName)
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "4")
                .config("spark.sql.warehouse.dir", Path.of("target", "spark-warehouse").toAbsolutePath().toString())
                .config("spark.plugins", StokerSparkPlugin.class.getName());
        if (master.startsWith("local-cluster")) {
            b.config("spark.executor.extraClassPath", System.getProperty("java.class.path"))
                    .config("spark.executor.extraJavaOptions", "-XX:TieredStopAtLevel=1");
        }
        conf.forEach(b::config);
        return b.getOrCreate();
    }
}
