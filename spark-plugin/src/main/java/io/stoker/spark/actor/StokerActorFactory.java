package io.stoker.spark.actor;

import java.io.Serializable;

/**
 * Builds one actor of a pool declared in code. Shipped from the driver inside a {@link ActorPoolSpec}, so it must be
 * serializable (a lambda assigned to this type is). Called once per actor, on the actor's own thread, inside the
 * executor.
 *
 * @param <A> actor class
 */
@FunctionalInterface
public interface StokerActorFactory<A> extends Serializable {
    A create(ActorEnv env) throws Exception;
}
