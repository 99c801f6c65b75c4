package io.stoker.runtime.graph;

import java.io.Serializable;

/**
 * A stateless function of 3 argument(s), used as a graph function node. Serializable so its name can be recovered.
 *
 * @param <R> result type
 */
@FunctionalInterface
public interface Function3<T1, T2, T3, R> extends Serializable {
    R apply(T1 a1, T2 a2, T3 a3) throws Exception;
}
