package io.stoker.runtime.actor;

/**
 * Builds an actor's state object. Called exactly once, on the actor's own thread, so that thread-bound resources
 * (a CUDA context, a thread-local arena) belong to the thread that will use them.
 *
 * @param <A> actor class
 */
@FunctionalInterface
public interface ActorFactory<A> {
    A create(ActorContext context) throws Exception;
}
