package io.stoker.runtime.graph;

import java.io.Serializable;

/**
 * A stateless function of any number of arguments, as an array (e.g. a gather step over many branches).
 *
 * @param <R> result type
 */
@FunctionalInterface
public interface FunctionN<R> extends Serializable {
    R apply(Object[] args) throws Exception;
}
