package io.stoker.runtime.internal;

import io.stoker.runtime.WaitPolicy;
import io.stoker.runtime.actor.ActorContext;
import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.actor.ActorSpec;

import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The runtime's internal view of actors: starting them, installing graph programs, reaching their threads. These
 * operations are not part of {@link ActorHandle}'s public API; {@code ActorHandle} registers the implementation when
 * its class loads (the "shared secrets" pattern).
 */
public final class ActorAccess {
    /** What the runtime may do to an actor beyond its public API. */
    public interface Bridge {
        /** Starts an actor's thread; the factory runs on it. */
        <A> ActorHandle<A> start(long id, ActorSpec<A> spec, ActorContext context, WaitPolicy wait,
                                 Consumer<ActorHandle<?>> onTerminated);

        /** Installs a program; completes once the actor's thread runs it. */
        CompletableFuture<Void> install(ActorHandle<?> actor, ActorProgram program);

        /** Removes a program; completes once the actor's thread no longer runs it (at once if the actor is gone). */
        CompletableFuture<Void> uninstall(ActorHandle<?> actor, ActorProgram program);

        /** @return the actor's thread */
        ActorThread thread(ActorHandle<?> actor);

        /**
         * @return the hook a channel calls after writing to this actor: a wake-up when the actor's idle kind parks, a
         * no-op when it only spins or yields (it polls its channels while a graph is installed)
         */
        Runnable wakeHook(ActorHandle<?> actor);
    }

    private static volatile Bridge bridge;

    private ActorAccess() {
    }

    /** Called once, by {@code ActorHandle}'s static initializer. */
    public static synchronized void register(Bridge b) {
        if (bridge != null) {
            throw new IllegalStateException("the actor bridge is already registered");
        }
        bridge = b;
    }

    /** @return the bridge, loading {@code ActorHandle} first if needed */
    public static Bridge get() {
        Bridge b = bridge;
        if (b == null) {
            try {
                Class.forName(ActorHandle.class.getName(), true, ActorHandle.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
            b = bridge;
        }
        return b;
    }
}
