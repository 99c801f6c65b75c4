package io.stoker.spark.graph;

import io.stoker.runtime.graph.FunctionN;

import java.io.Serializable;
import java.util.List;

/**
 * One node of a {@link GraphSpec}: either a method of an actor pool, called on one actor of the pool per graph
 * replica, or a stateless function. Inputs name earlier steps or {@link GraphSpec#INPUT} (the Arrow batch).
 *
 * @param id       unique step id within the graph
 * @param pool     actor pool name (actor steps), or null
 * @param method   public method name of the pool's actor class, taking {@code inputs.size()} arguments (actor
 *                 steps), or null
 * @param function the function (function steps), or null
 * @param inputs   ids of the steps (or {@link GraphSpec#INPUT}) whose values are the arguments, in order
 */
public record StepSpec(String id, String pool, String method, FunctionN<?> function, List<String> inputs)
        implements Serializable {
    public StepSpec {
        inputs = List.copyOf(inputs);
    }

    /** @return true for a method of an actor pool, false for a function */
    public boolean isActorStep() {
        return pool != null;
    }

    /** @return "pool.method" or "function id", for messages */
    public String describe() {
        return isActorStep() ? "'" + id + "' (" + pool + "." + method + ")" : "'" + id + "' (function)";
    }
}
