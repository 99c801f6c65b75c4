package io.stoker.runtime.graph;

import java.util.List;

/**
 * The graph's input: the whole value passed to {@link CompiledGraph#execute}, or parts of it when it is an
 * {@link Args}, a {@code Map}, a record, an {@code Object[]} or a {@code List}.
 *
 * @param <I> input type
 */
public final class InputNode<I> extends Node<I> {
    InputNode(GraphBuilder builder, int id) {
        super(builder, id, NodeKind.INPUT, List.of(), null, null, null, null, -1, null);
    }

    /** @return positional argument {@code index} of the input */
    public <U> Node<U> arg(int index) {
        return builder.project(this, Projection.index(index));
    }

    /** Typed form of {@link #arg(int)}. */
    public <U> Node<U> arg(int index, Class<U> type) {
        return arg(index);
    }

    /** @return the named field of the input ({@link Args} name, map key or record component) */
    public <U> Node<U> field(String name) {
        return builder.project(this, Projection.field(name));
    }

    /** Typed form of {@link #field(String)}. */
    public <U> Node<U> field(String name, Class<U> type) {
        return field(name);
    }
}
