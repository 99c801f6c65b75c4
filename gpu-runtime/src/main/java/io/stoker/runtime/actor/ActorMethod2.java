package io.stoker.runtime.actor;

import java.io.Serializable;

/**
 * An actor method taking 2 argument(s), usually a method reference such as {@code Model::forward}. Serializable so
 * that the method's name can be recovered for errors, DOT output and traces.
 *
 * @param <A> actor class
 * @param <R> result type
 */
@FunctionalInterface
public interface ActorMethod2<A, T1, T2, R> extends Serializable {
    R apply(A actor, T1 a1, T2 a2) throws Exception;
}
