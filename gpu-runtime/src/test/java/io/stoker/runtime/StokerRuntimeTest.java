package io.stoker.runtime;

import io.stoker.runtime.actor.ActorContext;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import io.stoker.runtime.actor.ActorState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StokerRuntimeTest {
    /** An actor that remembers the thread and devices it was built with. */
    public static final class Probe {
        final ActorContext ctx;
        final Thread builtOn = Thread.currentThread();

        public Probe(ActorContext ctx) {
            this.ctx = ctx;
        }

        Thread thread() {
            return Thread.currentThread();
        }
    }

    @Test
    void shouldPinEachGpuActorToItsOwnDeviceAndThread() {
        try (StokerRuntime rt = StokerRuntime.create(RuntimeConfig.defaults().withGpuIds(List.of("2", "3")))) {
            ActorHandle<Probe> g0 = rt.createActor(ActorSpec.ofClass("g0", Probe.class).withGpus(1));
            ActorHandle<Probe> g1 = rt.createActor(ActorSpec.ofClass("g1", Probe.class).withGpus(1));
            assertThat(g0.gpuIds()).containsExactly("2");
            assertThat(g1.gpuIds()).containsExactly("3");
            assertThat(rt.freeGpus()).isEmpty();
            Probe p0 = g0.call(p -> p).join();
            assertThat(p0.builtOn).as("constructed on its own thread").isSameAs(g0.call(Probe::thread).join());
            assertThat(p0.builtOn.getName()).isEqualTo("stoker-actor-g0");
            assertThat(g1.call(Probe::thread).join()).isNotSameAs(p0.builtOn);
            assertThatThrownBy(() -> rt.createActor(ActorSpec.ofClass("g2", Probe.class).withGpus(1)))
                    .hasMessageContaining("actor 'g2' needs 1 GPU(s) but runtime 'stoker' has 0 free of [2, 3]");
            g0.close();
            assertThat(g0.state()).isEqualTo(ActorState.CLOSED);
            assertThat(rt.freeGpus()).containsExactly("2");
            assertThat(rt.createActor(ActorSpec.ofClass("g2", Probe.class).withGpus(1)).gpuIds()).containsExactly("2");
        }
    }

    @Test
    void shouldAccountCpuSlotsAndRejectDuplicateNames() {
        try (StokerRuntime rt = StokerRuntime.create(RuntimeConfig.defaults().withCpus(2))) {
            rt.createActor(ActorSpec.ofClass("c1", Probe.class).withCpus(1.5));
            assertThatThrownBy(() -> rt.createActor(ActorSpec.ofClass("c2", Probe.class).withCpus(1)))
                    .hasMessageContaining("actor 'c2' needs 1.0 CPU slot(s) but runtime 'stoker' has 0.5 free of 2.0");
            assertThatThrownBy(() -> rt.createActor(ActorSpec.ofClass("c1", Probe.class)))
                    .hasMessageContaining("an actor named 'c1' already exists");
            assertThat(rt.actors()).extracting(ActorHandle::name).containsExactly("c1");
        }
    }

    @Test
    void shouldCloseActorStateThatIsAutoCloseable() throws Exception {
        class Resource implements AutoCloseable {
            volatile boolean closed;

            @Override
            public void close() {
                closed = true;
            }
        }
        Resource[] made = new Resource[1];
        StokerRuntime rt = StokerRuntime.create();
        rt.createActor(ActorSpec.of("res", ctx -> made[0] = new Resource()));
        rt.close();
        assertThat(made[0].closed).isTrue();
        assertThatThrownBy(() -> rt.createActor(ActorSpec.ofClass("late", Probe.class)))
                .hasMessageContaining("runtime 'stoker' is closed");
    }

    @Test
    void shouldReportEagerCallFailuresNamingActorAndMethod() {
        try (StokerRuntime rt = StokerRuntime.create()) {
            ActorHandle<Probe> p = rt.createActor(ActorSpec.ofClass("probe", Probe.class));
            assertThatThrownBy(() -> p.call(StokerRuntimeTest::explode, 3).join())
                    .hasMessageContaining("actor 'probe' method 'explode' failed")
                    .hasRootCauseMessage("boom 3");
        }
    }

    static Integer explode(Probe p, Integer x) {
        throw new IllegalStateException("boom " + x);
    }
}
