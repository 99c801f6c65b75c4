package io.stoker.spark.plugin;

import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every entry point that needs the driver plugin fails the same way on a SparkContext without it. */
@Timeout(120)
class DriverStateRequireTest {
    @Test
    void shouldNameWhatNeedsThePluginAndHowToStartIt() {
        SparkContext sc = new SparkContext(new SparkConf().setMaster("local[1]").setAppName("no-plugin")
                .set("spark.ui.enabled", "false"));
        try {
            assertThatThrownBy(() -> DriverState.require(sc, "llmMap"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("llmMap needs Stoker's plugin")
                    .hasMessageContaining("spark.plugins=io.stoker.spark.StokerSparkPlugin")
                    .hasMessageContaining("(current spark.plugins=)");
        } finally {
            sc.stop();
        }
    }
}
