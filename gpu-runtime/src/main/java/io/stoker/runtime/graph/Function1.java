package io.stoker.runtime.graph;

import java.io.Serializable;

/**
 * A stateless function of 1 argument(s), used as a graph function node. Serializable so its name can be recovered.
 *
 * @param <R> result type
 */
@FunctionalInterface
public interface Function1<T1, R> extends Serializable {
    R apply(T1 a1) throws Exception;
}
