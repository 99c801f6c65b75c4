package io.stoker.runtime.cuda;

import io.stoker.runtime.RuntimeConfig;
import io.stoker.runtime.StokerRuntime;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** GPU actors bind the device the runtime assigned them, on their own thread, and close it with themselves. */
@Timeout(60)
class CudaActorsTest {

    /** Adds vectors on its device; owns the device. */
    static final class VectorActor implements AutoCloseable {
        final CudaDevice device;
        final Thread builtOn = Thread.currentThread();

        VectorActor(CudaDevice device) {
            this.device = device;
        }

        float[] add(float[] a, float[] b) {
            try (DeviceBuffer da = device.allocate(4L * a.length, "a"); DeviceBuffer db = device.allocate(4L * b.length, "b");
                 DeviceBuffer dc = device.allocate(4L * a.length, "c")) {
                da.copyFrom(a);
                db.copyFrom(b);
                device.module(CudaTestSupport.checks()).function("vec_add").launch(device.stream(),
                        LaunchConfig.covering(a.length, 32), new KernelArgs().ptr(da).ptr(db).ptr(dc).i32(a.length));
                float[] c = new float[a.length];
                dc.copyTo(c);
                return c;
            }
        }

        long currentContext() {
            return CudaNative.ctxGetCurrent();
        }

        @Override
        public void close() {
            device.close();
        }
    }

    @Test
    void shouldBindEachGpuActorToItsAssignedDeviceOnItsOwnThread() {
        try (StokerRuntime rt = StokerRuntime.create(RuntimeConfig.defaults().withName("gpu-test")
                .withGpuIds(List.of("1", "0")))) {
            ActorHandle<VectorActor> a = rt.createActor(ActorSpec.of("a",
                    CudaActors.onDevice(CudaTestSupport.config(), (ctx, dev) -> new VectorActor(dev))).withGpus(1));
            ActorHandle<VectorActor> b = rt.createActor(ActorSpec.of("b",
                    CudaActors.onDevice(CudaTestSupport.config(), (ctx, dev) -> new VectorActor(dev))).withGpus(1));
            VectorActor va = a.call(x -> x).join();
            VectorActor vb = b.call(x -> x).join();
            assertThat(va.device.ordinal()).isEqualTo(1);
            assertThat(vb.device.ordinal()).isEqualTo(0);
            assertThat(va.device.owner()).isSameAs(va.builtOn).isNotSameAs(vb.builtOn);
            assertThat(a.call(VectorActor::currentContext).join()).isEqualTo(va.device.context());
            assertThat(b.call(VectorActor::currentContext).join()).isEqualTo(vb.device.context());
            assertThat(a.call(x -> x.add(new float[] {1, 2, 3}, new float[] {10, 20, 30})).join())
                    .containsExactly(11, 22, 33);
            a.close();
            assertThat(va.device.isClosed()).as("closed with its actor").isTrue();
        }
    }

    /** Keeps its device but does not close it: the runtime must. */
    static final class CarelessActor {
        final CudaDevice device;

        CarelessActor(CudaDevice device) {
            this.device = device;
        }

        Boolean trap() {
            try (DeviceBuffer x = device.allocate(64, "x")) {
                device.module(CudaTestSupport.checks()).function("full_mask_shuffle").launch(device.stream(),
                        LaunchConfig.of(1, 16), new KernelArgs().ptr(x));
                device.stream().synchronize();
                return false;
            } catch (CudaException expected) {
                return true; // the context is now unusable until it is released
            }
        }
    }

    @Test
    void shouldCloseTheDeviceWithItsActorEvenWhenTheActorDoesNot() {
        try (StokerRuntime rt = StokerRuntime.create(RuntimeConfig.defaults().withName("careless")
                .withGpuIds(List.of("1")))) {
            ActorHandle<CarelessActor> a = rt.createActor(ActorSpec.of("careless",
                    CudaActors.onDevice(CudaTestSupport.config(), (ctx, dev) -> new CarelessActor(dev))).withGpus(1));
            CarelessActor state = a.call(x -> x).join();
            assertThat(a.call(CarelessActor::trap).join()).as("the kernel trapped").isTrue();
            a.close();
            assertThat(state.device.isClosed()).as("closed with its actor").isTrue();
        }
        // the trapped context was released with the device, so device 1 is usable again
        try (CudaDevice fresh = CudaDevice.open(1, CudaTestSupport.config()); DeviceBuffer ok = fresh.allocate(4, "ok")) {
            ok.copyFrom(new int[] {7});
            fresh.synchronize();
        }
    }

    @Test
    void shouldRefuseAGpuActorWithoutAGpu() {
        try (StokerRuntime rt = StokerRuntime.create(RuntimeConfig.defaults().withName("no-gpu"))) {
            assertThatThrownBy(() -> rt.createActor(ActorSpec.of("lonely",
                    CudaActors.onDevice(CudaTestSupport.config(), (ctx, dev) -> new VectorActor(dev)))))
                    .hasStackTraceContaining("was given none").hasStackTraceContaining("withGpus(1)");
        }
    }
}
