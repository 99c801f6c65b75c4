package io.stoker.runtime.graph;

/** Calls a bound actor method or function with its arguments. */
@FunctionalInterface
interface Invoker {
    Object invoke(Object actor, Object[] args) throws Exception;
}
