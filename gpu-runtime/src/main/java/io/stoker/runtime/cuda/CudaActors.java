package io.stoker.runtime.cuda;

import io.stoker.runtime.actor.ActorContext;
import io.stoker.runtime.actor.ActorFactory;
import io.stoker.runtime.internal.ActorThread;

/**
 * Binds a GPU actor's device on the actor's own thread: {@code ActorSpec.of(name, CudaActors.onDevice(config,
 * (ctx, device) -> new Worker(device))).withGpus(1)}. The factory runs on the actor thread, so the primary context
 * becomes current there. The actor may close the device in its own {@code close()} (which the runtime calls on the
 * same thread); either way the runtime closes it when the actor ends, after the actor's {@code close()}, so a device
 * (and its context) never outlives its actor.
 */
public final class CudaActors {
    private CudaActors() {
    }

    /** Builds an actor from its context and its bound device. */
    @FunctionalInterface
    public interface DeviceActorFactory<A> {
        A create(ActorContext context, CudaDevice device) throws Exception;
    }

    /**
     * @return a factory that opens the actor's first assigned GPU on the actor thread, then builds the actor; if
     * building fails, the device is closed again
     */
    public static <A> ActorFactory<A> onDevice(CudaDeviceConfig config, DeviceActorFactory<A> factory) {
        return ctx -> {
            if (ctx.gpuIds().isEmpty()) {
                throw new IllegalArgumentException("actor '" + ctx.name() + "' runs on a GPU but was given none; "
                        + "create it with ActorSpec.withGpus(1) on a runtime that has GPU ids");
            }
            CudaDevice device = CudaDevice.open(ctx.gpuIds().get(0), config);
            try {
                A actor = factory.create(ctx, device);
                ActorThread thread = ActorThread.current();
                if (thread != null) {
                    thread.closeOnExit(device);
                }
                return actor;
            } catch (Exception | Error e) {
                try {
                    device.close();
                } catch (RuntimeException closing) {
                    e.addSuppressed(closing);
                }
                throw e;
            }
        };
    }
}
