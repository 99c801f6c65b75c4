package io.stoker.runtime.actor;

import java.io.Serializable;

/**
 * An actor method taking 0 argument(s), usually a method reference such as {@code Model::forward}. Serializable so
 * that the method's name can be recovered for errors, DOT output and traces.
 *
 * @param <A> actor class
 * @param <R> result type
 */
@FunctionalInterface
public interface ActorMethod0<A, R> extends Serializable {
    R apply(A actor) throws Exception;
}
