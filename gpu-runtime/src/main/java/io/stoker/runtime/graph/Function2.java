package io.stoker.runtime.graph;

import java.io.Serializable;

/**
 * A stateless function of 2 argument(s), used as a graph function node. Serializable so its name can be recovered.
 *
 * @param <R> result type
 */
@FunctionalInterface
public interface Function2<T1, T2, R> extends Serializable {
    R apply(T1 a1, T2 a2) throws Exception;
}
