package io.stoker.runtime.graph;

/** What a graph node is. */
public enum NodeKind {
    /** The graph's single input. */
    INPUT,
    /** A method call on an actor. */
    ACTOR_TASK,
    /** A stateless function, placed on an actor by the compiler. */
    FUNCTION,
    /** One rank's part of a collective (allreduce, allgather, reducescatter). */
    COLLECTIVE,
    /** A part of another node's value (arg, field or returned element); costs no task. */
    PROJECTION,
    /** A fixed value bound into the arguments of the tasks that use it at compile time; costs no task or channel. */
    CONSTANT
}
