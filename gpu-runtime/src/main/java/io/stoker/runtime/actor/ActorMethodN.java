package io.stoker.runtime.actor;

import java.io.Serializable;

/**
 * An actor method taking any number of arguments as an array (for graphs built from specs at run time).
 *
 * @param <A> actor class
 * @param <R> result type
 */
@FunctionalInterface
public interface ActorMethodN<A, R> extends Serializable {
    R apply(A actor, Object[] args) throws Exception;
}
