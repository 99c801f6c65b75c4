package io.stoker.it.submitapp;

import io.stoker.spark.Stoker;
import io.stoker.spark.actor.ActorPoolSpec;
import io.stoker.spark.graph.GraphSpec;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * An outside user's application for {@code bin/stoker submit}, packaged into its own jar by the test: it names
 * neither Stoker's jar nor its plugin (the submit command adds both) and prints one line of key=value pairs: the
 * driver JVM's system properties {@code stoker.it.opt} and {@code stoker.it.conf} and its max heap; with
 * {@code --spark}, also the result of a Stoker job over a pool declared in code, {@code spark.plugins}, and
 * whether the user's own plugin (listed in {@code spark.plugins} by the user) ran.
 */
public final class SubmitProbe {
    private SubmitProbe() {
    }

    public static void main(String[] args) {
        StringBuilder out = new StringBuilder("probe");
        out.append(" opt=[").append(System.getProperty("stoker.it.opt")).append(']');
        out.append(" conf=[").append(System.getProperty("stoker.it.conf")).append(']');
        out.append(" maxHeapMb=").append(Runtime.getRuntime().maxMemory() >> 20);
        if (args.length > 0 && args[0].equals("--spark")) {
            SparkSession spark = SparkSession.builder().appName("submit-probe")
                    .config("spark.ui.enabled", "false").getOrCreate();
            try {
                GraphSpec spec = GraphSpec.builder("probe")
                        .pool(ActorPoolSpec.ofClass("probe-doubler", ProbeDoubler.class).withCount(1))
                        .actor("d", "probe-doubler", "doubled", GraphSpec.INPUT)
                        .build();
                long sum = spark.range(0, 1000, 1, 2).toDF()
                        .transform(Stoker.mapBatches(spec, new StructType().add("doubled", DataTypes.LongType)))
                        .selectExpr("sum(doubled)").first().getLong(0);
                out.append(" sum=").append(sum);
                out.append(" plugins=[").append(spark.sparkContext().conf().get("spark.plugins", "")).append(']');
                out.append(" probePlugin=").append(System.getProperty(ProbePlugin.RAN, "no"));
            } finally {
                spark.stop();
            }
        }
        System.out.println(out);
    }
}
