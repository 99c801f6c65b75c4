package io.stoker.runtime.graph;

import io.stoker.runtime.actor.ActorHandle;

import java.util.List;
import java.util.Map;

/**
 * The compiled shape of a graph, kept for rendering (DOT) and diagnostics.
 *
 * @param input       the input node
 * @param tasks       task nodes in bind order
 * @param placement   the actor each task runs on
 * @param schedules   each actor's tasks in schedule order
 * @param sources     each task's distinct upstream nodes (data, then ordering-only)
 * @param outputs     the graph's output nodes, in result order
 */
record GraphLayout(Node<?> input, List<Node<?>> tasks, Map<Node<?>, ActorHandle<?>> placement,
                   Map<ActorHandle<?>, List<Node<?>>> schedules, Map<Node<?>, List<Node<?>>> sources,
                   List<Node<?>> outputs) {

    static Node<?> base(Node<?> n) {
        return n.kind == NodeKind.PROJECTION ? n.upstream.get(0) : n;
    }

    static Projection projection(Node<?> n) {
        return n.kind == NodeKind.PROJECTION ? n.projection : null;
    }
}
