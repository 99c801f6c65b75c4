package io.stoker.spark.serializer;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.stoker.spark.actor.ActorPoolSpec;
import io.stoker.spark.config.StokerConf;
import io.stoker.spark.graph.GraphSpec;
import io.stoker.spark.graph.StepSpec;
import io.stoker.spark.plugin.ExecutorReport;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Registers Stoker's serializable classes with Kryo:
 * {@code spark.kryo.registrator=io.stoker.spark.serializer.StokerKryoRegistrator}. Graph specs travel to executors
 * as broadcasts, which use the data serializer; with {@code spark.kryo.registrationRequired=true} they must be
 * registered. They carry serializable lambdas (functions, actor factories), so Kryo hands them to Java
 * serialization, which restores lambdas correctly.
 */
public final class StokerKryoRegistrator implements KryoRegistrator {
    @Override
    public void registerClasses(Kryo kryo) {
        JavaSerializer java = new JavaSerializer();
        kryo.register(GraphSpec.class, java);
        kryo.register(StepSpec.class, java);
        kryo.register(ActorPoolSpec.class, java);
        kryo.register(StokerConf.class, java);
        kryo.register(ExecutorReport.class, java);
    }
}
