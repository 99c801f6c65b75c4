package io.stoker.spark.sql;

import io.stoker.spark.Stoker;
import io.stoker.spark.graph.GraphSpec;
import io.stoker.spark.serializer.StokerKryoRegistrator;
import io.stoker.spark.testing.LocalSpark;
import io.stoker.spark.testing.TestActors;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** With Kryo as the data serializer and registration required, graph specs (broadcasts) need the registrator. */
@Timeout(120)
class KryoLocalTest {
    private static final StructType DOUBLED = new StructType().add("doubled", DataTypes.LongType, false);

    private static long run(boolean withRegistrator) {
        Map<String, String> conf = new HashMap<>();
        conf.put("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
        conf.put("spark.kryo.registrationRequired", "true");
        conf.put("spark.stoker.pool.doubler.class", TestActors.Doubler.class.getName());
        if (withRegistrator) {
            conf.put("spark.kryo.registrator", StokerKryoRegistrator.class.getName());
        }
        SparkSession spark = LocalSpark.start("KryoLocalTest", conf);
        try {
            return spark.range(0, 100, 1, 2).toDF()
                    .transform(Stoker.mapBatches(GraphSpec.of("double", "doubler", "doubled"), DOUBLED))
                    .selectExpr("sum(doubled)").first().getLong(0);
        } finally {
            spark.stop();
        }
    }

    @Test
    void shouldWorkWithKryoRegistrationRequiredWhenRegistratorIsSet() {
        assertThat(run(true)).isEqualTo(99L * 100);
    }

    @Test
    void shouldFailWithoutRegistratorWhenKryoRegistrationIsRequired() {
        assertThatThrownBy(() -> run(false)).hasMessageContaining("io.stoker.spark.graph.GraphSpec");
    }
}
