package io.stoker.spark.shim;

import org.apache.spark.package$;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Picks the {@link SparkShims} implementation for the running Spark version through {@link ServiceLoader}
 * ({@code META-INF/services/io.stoker.spark.shim.SparkShims} of the plugin jar, which lists the implementation the
 * jar was built with).
 *
 * <p>Thread-safety: safe; the choice is made once per class loader.
 */
public final class ShimLoader {
    private static volatile SparkShims shims;

    private ShimLoader() {
    }

    /**
     * @return the shims for the running Spark
     * @throws IllegalStateException naming the running version and the lines this jar serves, when none matches
     */
    public static SparkShims get() {
        SparkShims s = shims;
        if (s == null) {
            s = load(package$.MODULE$.SPARK_VERSION());
            shims = s;
        }
        return s;
    }

    static SparkShims load(String version) {
        List<String> lines = new ArrayList<>();
        for (SparkShims s : ServiceLoader.load(SparkShims.class, ShimLoader.class.getClassLoader())) {
            if (s.supports(version)) {
                return s;
            }
            lines.add(s.line());
        }
        throw new IllegalStateException("Stoker's plugin jar serves Spark " + lines + " but this is Spark " + version
                + "; use the stoker-spark-plugin jar built for this line (mvn -Pspark-4.2 for 4.2.x, default for"
                + " 4.0.x)");
    }
}
